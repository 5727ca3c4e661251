# ecoflow-power-agent.ps1: the ecoflow-power host agent for Windows.
#
# Windows PowerShell 5.1 or PowerShell 7, mosquitto_sub.exe / mosquitto_pub.exe
# (the mosquitto Windows installer), no Python, no modules. It runs as SYSTEM
# from Task Scheduler (see install.ps1 and README.md).
#
#   ecoflow-power-agent.ps1 [-Config FILE] [-DryRun] [-Verbose]
#   ecoflow-power-agent.ps1 -Sign KEY-FILE AGENT ID ACTION ISSUED_AT DELAY_SEC TTL_SEC
#
# The configuration uses the Linux agent's key-file format (CONTRACT 4.7), with
# Windows values for [shutdown] method (shutdown-exe or command) and one
# Windows-only key, [mqtt] clients-dir (where mosquitto_sub.exe lives).
#
# Exit status: 64 bad command line, 78 bad configuration (one line naming the
# file, [group] key, expected and found).

Set-StrictMode -Version 2.0
$ErrorActionPreference = 'Stop'

$AgentVersion = '0.1.0-ps'
$SkewSec = 30
$Invariant = [Globalization.CultureInfo]::InvariantCulture

function Write-Err([string] $Line) { [Console]::Error.WriteLine('ecoflow-power-agent: ' + $Line) }

# ------------------------------------------------------------ HMAC (CONTRACT 4.3)

# The key file's bytes minus one trailing LF or CRLF.
function Read-KeyBytes([string] $Path) {
  $bytes = [IO.File]::ReadAllBytes($Path)
  $n = $bytes.Length
  if ($n -gt 0 -and $bytes[$n - 1] -eq 10) {
    $n--
    if ($n -gt 0 -and $bytes[$n - 1] -eq 13) { $n-- }
  }
  $key = New-Object byte[] $n
  [Array]::Copy($bytes, $key, $n)
  return ,$key
}

# "v1\n<agent>\n<id>\n<action>\n<issued_at>\n<delay_sec>\n<ttl_sec>", LF only
function Get-SigningText([string] $AgentId, [string] $CommandId, [string] $Action,
                         [long] $IssuedAt, [long] $DelaySec, [long] $TtlSec) {
  return ('v1', $AgentId, $CommandId, $Action, $IssuedAt.ToString($Invariant),
          $DelaySec.ToString($Invariant), $TtlSec.ToString($Invariant)) -join "`n"
}

function Get-HmacHex([byte[]] $Key, [string] $Text) {
  $hmac = New-Object System.Security.Cryptography.HMACSHA256 -ArgumentList @(,$Key)
  try {
    $hash = $hmac.ComputeHash([Text.Encoding]::UTF8.GetBytes($Text))
  } finally {
    $hmac.Dispose()
  }
  $sb = New-Object Text.StringBuilder
  foreach ($b in $hash) { [void] $sb.Append($b.ToString('x2', $Invariant)) }
  return $sb.ToString()
}

function Test-SameText([string] $A, [string] $B) {
  # constant time for equal lengths: no early exit on the first difference
  if ($A.Length -ne $B.Length) { return $false }
  $diff = 0
  for ($i = 0; $i -lt $A.Length; $i++) { $diff = $diff -bor ([int] $A[$i] -bxor [int] $B[$i]) }
  return ($diff -eq 0)
}

# ------------------------------------------------------------ command line

$ConfigPath = Join-Path $env:ProgramData 'EcoflowPower\agent.conf'
$DryRun = $false
$VerboseLog = $false
$i = 0
while ($i -lt $args.Count) {
  $a = [string] $args[$i]
  switch -Exact ($a) {
    '-Config' {
      if ($i + 1 -ge $args.Count) { Write-Err '-Config needs a FILE'; exit 64 }
      $ConfigPath = [string] $args[$i + 1]; $i += 2
    }
    '-DryRun' { $DryRun = $true; $i++ }
    '-Verbose' { $VerboseLog = $true; $i++ }
    '-Sign' {
      if ($args.Count - $i -ne 8) {
        Write-Err 'usage: ecoflow-power-agent.ps1 -Sign KEY-FILE AGENT ID ACTION ISSUED_AT DELAY_SEC TTL_SEC'
        exit 64
      }
      $n = $args[($i + 5)..($i + 7)] | ForEach-Object { [long]::Parse([string] $_, $Invariant) }
      $key = Read-KeyBytes ([string] $args[$i + 1])
      Write-Output (Get-HmacHex $key (Get-SigningText ([string] $args[$i + 2]) ([string] $args[$i + 3]) ([string] $args[$i + 4]) $n[0] $n[1] $n[2]))
      exit 0
    }
    { $_ -in @('-Help', '-h', '/?') } {
      Write-Output 'usage: ecoflow-power-agent.ps1 [-Config FILE] [-DryRun] [-Verbose]'
      Write-Output '       ecoflow-power-agent.ps1 -Sign KEY-FILE AGENT ID ACTION ISSUED_AT DELAY_SEC TTL_SEC'
      exit 0
    }
    default { Write-Err ("unknown argument '{0}' (try -Help)" -f $a); exit 64 }
  }
}

# ------------------------------------------------------------ configuration

function Fail-Config([string] $Message) {
  Write-Err ('{0}: {1}' -f $ConfigPath, $Message)
  exit 78
}

$Known = @{
  'agent'    = @('id', 'key-file', 'state-file')
  'mqtt'     = @('host', 'port', 'username', 'password-file', 'tls', 'ca-file', 'command-prefix', 'clients-dir')
  'shutdown' = @('method', 'command', 'abort-command', 'hooks-dir', 'hook-timeout-sec')
}

if (-not (Test-Path -LiteralPath $ConfigPath -PathType Leaf)) {
  Fail-Config 'expected a readable configuration file, found none'
}
$Ini = @{ 'agent' = @{}; 'mqtt' = @{}; 'shutdown' = @{} }
$group = $null
foreach ($raw in [IO.File]::ReadAllLines($ConfigPath)) {
  $line = $raw.Trim()
  if ($line -eq '' -or $line.StartsWith('#') -or $line.StartsWith(';')) { continue }
  if ($line -match '^\[(.+)\]$') {
    $group = $Matches[1]
    if (-not $Known.ContainsKey($group)) {
      Fail-Config ('[{0}]: expected one of the groups [agent], [mqtt], [shutdown], found unknown group' -f $group)
    }
    continue
  }
  $eq = $line.IndexOf('=')
  if ($eq -lt 1) { Fail-Config ("expected key=value lines, found '{0}'" -f $line) }
  $k = $line.Substring(0, $eq).Trim()
  if ($null -eq $group) { Fail-Config ("expected a [group] before '{0}', found none" -f $k) }
  if ($Known[$group] -notcontains $k) {
    Fail-Config ('[{0}] {1}: expected one of {2}, found unknown key' -f $group, $k, ($Known[$group] -join ', '))
  }
  $Ini[$group][$k] = $line.Substring($eq + 1).Trim()
}

function Get-Ini([string] $Group, [string] $Key, [string] $Default) {
  if ($Ini[$Group].ContainsKey($Key) -and $Ini[$Group][$Key] -ne '') { return $Ini[$Group][$Key] }
  return $Default
}

function Get-IniInt([string] $Group, [string] $Key, [long] $Default, [long] $Min, [long] $Max) {
  $v = Get-Ini $Group $Key ''
  if ($v -eq '') { return $Default }
  $n = 0L
  if (-not [long]::TryParse($v, [Globalization.NumberStyles]::None, $Invariant, [ref] $n) -or $n -lt $Min -or $n -gt $Max) {
    Fail-Config ("[{0}] {1}: expected an integer {2}-{3}, found '{4}'" -f $Group, $Key, $Min, $Max, $v)
  }
  return $n
}

$DataDir = Join-Path $env:ProgramData 'EcoflowPower'
$AgentId = Get-Ini 'agent' 'id' ''
$KeyFile = Get-Ini 'agent' 'key-file' ''
$StateFile = Get-Ini 'agent' 'state-file' (Join-Path $DataDir 'seen.json')
$MqttHost = Get-Ini 'mqtt' 'host' 'localhost'
$MqttPort = Get-IniInt 'mqtt' 'port' 1883 1 65535
$MqttUser = Get-Ini 'mqtt' 'username' ''
$MqttPasswordFile = Get-Ini 'mqtt' 'password-file' ''
$MqttTlsText = Get-Ini 'mqtt' 'tls' 'false'
$MqttCaFile = Get-Ini 'mqtt' 'ca-file' ''
$Prefix = Get-Ini 'mqtt' 'command-prefix' 'power-manager'
$ClientsDir = Get-Ini 'mqtt' 'clients-dir' (Join-Path $env:ProgramFiles 'mosquitto')
$Method = Get-Ini 'shutdown' 'method' 'shutdown-exe'
$Command = Get-Ini 'shutdown' 'command' ''
$AbortCommand = Get-Ini 'shutdown' 'abort-command' ''
$HooksDir = Get-Ini 'shutdown' 'hooks-dir' (Join-Path $DataDir 'agent.d')
$HookTimeoutSec = Get-IniInt 'shutdown' 'hook-timeout-sec' 60 1 604800

if ($AgentId -eq '') { Fail-Config '[agent] id: expected an agent id, found nothing' }
if ($AgentId -notmatch '^[A-Za-z0-9._-]+$') {
  Fail-Config ("[agent] id: expected letters, digits, '.', '_' or '-', found '{0}'" -f $AgentId)
}
switch -Regex ($MqttTlsText.ToLowerInvariant()) {
  '^(true|yes|1|on)$' { $MqttTls = $true }
  '^(false|no|0|off)$' { $MqttTls = $false }
  default { Fail-Config ("[mqtt] tls: expected true or false, found '{0}'" -f $MqttTlsText) }
}
if ($Prefix -match '[+# ]' -or $Prefix.StartsWith('/') -or $Prefix.EndsWith('/')) {
  Fail-Config ("[mqtt] command-prefix: expected topic levels without '+', '#' or spaces, found '{0}'" -f $Prefix)
}
if (@('shutdown-exe', 'command') -notcontains $Method) {
  Fail-Config ("[shutdown] method: expected shutdown-exe or command, found '{0}'" -f $Method)
}
if ($Method -eq 'command' -and $Command -eq '') {
  Fail-Config '[shutdown] command: expected a command line with method=command, found nothing'
}
$Key = $null
if ($KeyFile -ne '') {
  try { $Key = Read-KeyBytes $KeyFile } catch {
    Fail-Config ('[agent] key-file: expected a readable secret file, found: {0}' -f $_.Exception.Message)
  }
  if ($Key.Length -eq 0) { Fail-Config ('[agent] key-file: expected a non-empty key in {0}, found an empty file' -f $KeyFile) }
}
$MqttPassword = ''
if ($MqttPasswordFile -ne '') {
  try { $MqttPassword = ([IO.File]::ReadAllText($MqttPasswordFile) -split "`r?`n")[0] } catch {
    Fail-Config ('[mqtt] password-file: expected a readable secret file, found: {0}' -f $_.Exception.Message)
  }
}
if ($MqttCaFile -ne '' -and -not (Test-Path -LiteralPath $MqttCaFile -PathType Leaf)) {
  Fail-Config ("[mqtt] ca-file: expected a readable CA certificate file, found '{0}' missing" -f $MqttCaFile)
}
$SubExe = Join-Path $ClientsDir 'mosquitto_sub.exe'
$PubExe = Join-Path $ClientsDir 'mosquitto_pub.exe'
foreach ($exe in @($SubExe, $PubExe)) {
  if (-not (Test-Path -LiteralPath $exe -PathType Leaf)) {
    Fail-Config ("[mqtt] clients-dir: expected {0}, found nothing" -f $exe)
  }
}
$StateDir = Split-Path -Parent $StateFile
try {
  New-Item -ItemType Directory -Force -Path $StateDir | Out-Null
  if (-not (Test-Path -LiteralPath $StateFile)) { [IO.File]::WriteAllText($StateFile, '{"version":1,"seen":{}}') }
} catch {
  Fail-Config ("[agent] state-file: expected a writable file, found: {0}" -f $_.Exception.Message)
}

$CmdTopic = '{0}/{1}/cmd' -f $Prefix, $AgentId
$AckTopic = '{0}/{1}/ack' -f $Prefix, $AgentId
$StatusTopic = '{0}/{1}/status' -f $Prefix, $AgentId
$HostName = $env:COMPUTERNAME

# ------------------------------------------------------------ logging

$LogFile = Join-Path $DataDir 'agent.log'
function Write-Log([string] $Message) {
  $line = '{0} {1}' -f (Get-Date).ToString('yyyy-MM-dd HH:mm:ss', $Invariant), $Message
  try {
    if ((Test-Path -LiteralPath $LogFile) -and (Get-Item -LiteralPath $LogFile).Length -gt 1MB) {
      Move-Item -LiteralPath $LogFile -Destination ($LogFile + '.1') -Force
    }
    Add-Content -LiteralPath $LogFile -Value $line -Encoding UTF8
  } catch { }
  # not Write-Output: functions that log must not return the log line
  [Console]::Out.WriteLine($line)
}
function Write-Info([string] $Message) { if ($VerboseLog) { Write-Log $Message } }

# ------------------------------------------------------------ MQTT clients

# The password, the will and the credentials go into option files that
# mosquitto_sub/pub read from %USERPROFILE%\mosquitto_{sub,pub}.conf. So they
# stay off command lines, and the JSON quotes avoid Windows argument quoting.
$RunDir = Join-Path $DataDir 'run'
New-Item -ItemType Directory -Force -Path $RunDir | Out-Null
$common = @()
if ($MqttUser -ne '') { $common += ('-u ' + $MqttUser) }
if ($MqttPassword -ne '') { $common += ('-P ' + $MqttPassword) }
[IO.File]::WriteAllLines((Join-Path $RunDir 'mosquitto_pub.conf'), [string[]] $common)
[IO.File]::WriteAllLines((Join-Path $RunDir 'mosquitto_sub.conf'), [string[]] ($common + @(
  ('--will-topic ' + $StatusTopic), '--will-payload {"state":"offline"}', '--will-qos 1', '--will-retain')))

function Format-Args([string[]] $List) {
  ($List | ForEach-Object { if ($_ -match '[\s"]') { '"' + $_.Replace('"', '\"') + '"' } else { $_ } }) -join ' '
}

$ConnArgs = @('-h', $MqttHost, '-p', $MqttPort.ToString($Invariant))
if ($MqttTls) {
  # the clients verify the broker certificate unless --insecure is given; it never is
  if ($MqttCaFile -ne '') { $ConnArgs += @('--cafile', $MqttCaFile) } else { $ConnArgs += '--tls-use-os-certs' }
}

function New-ClientStartInfo([string] $Exe, [string[]] $ArgList) {
  $psi = New-Object Diagnostics.ProcessStartInfo
  $psi.FileName = $Exe
  $psi.Arguments = Format-Args $ArgList
  $psi.UseShellExecute = $false
  $psi.CreateNoWindow = $true
  $psi.EnvironmentVariables['USERPROFILE'] = $RunDir
  return $psi
}

$PubSeq = 0
function Publish-Json([string] $Topic, [string] $Json, [switch] $Retain) {
  $script:PubSeq++
  $file = Join-Path $RunDir ('pub-{0}-{1}.json' -f $PID, $script:PubSeq)
  [IO.File]::WriteAllText($file, $Json, (New-Object Text.UTF8Encoding $false))
  $list = $ConnArgs + @('-q', '1', '-t', $Topic, '-f', $file)
  if ($Retain) { $list += '-r' }
  try {
    $p = [Diagnostics.Process]::Start((New-ClientStartInfo $PubExe $list))
    if (-not $p.WaitForExit(15000)) { $p.Kill(); Write-Log ('mosquitto_pub to {0} timed out' -f $Topic) }
    elseif ($p.ExitCode -ne 0) { Write-Log ('mosquitto_pub to {0} failed (exit {1})' -f $Topic, $p.ExitCode) }
  } finally {
    Remove-Item -LiteralPath $file -Force -ErrorAction SilentlyContinue
  }
}

function ConvertTo-CompactJson($Object) { return ($Object | ConvertTo-Json -Compress) }

function Send-Status([string] $State) {
  if ($State -eq 'online') {
    $o = [ordered] @{ state = 'online'; version = $AgentVersion; host = $HostName; ts = [DateTimeOffset]::UtcNow.ToUnixTimeSeconds() }
  } else {
    $o = [ordered] @{ state = 'offline' }
  }
  Publish-Json $StatusTopic (ConvertTo-CompactJson $o) -Retain
}

function Get-Clean([string] $Text) {
  if ($null -eq $Text) { return '' }
  $t = ($Text -replace '[\x00-\x1f\x7f"]', ' ')
  if ($t.Length -gt 200) { $t = $t.Substring(0, 200) }
  return $t
}

function Send-Ack($Cmd, [string] $Result, [string] $Detail) {
  $id = ''; $action = ''
  if ($null -ne $Cmd) { $id = Get-Clean $Cmd.Id; $action = Get-Clean $Cmd.Action }
  Write-Info ('ACK {0} {1}: {2}' -f $id, $Result, $Detail)
  Publish-Json $AckTopic (ConvertTo-CompactJson ([ordered] @{ id = $id; action = $action; result = $Result; detail = $Detail }))
}

function Send-Reject($Cmd, [string] $Reason) {
  $id = '-'; $action = '-'
  if ($null -ne $Cmd) { $id = Get-Clean $Cmd.Id; $action = Get-Clean $Cmd.Action }
  Write-Log ('REJECTED command {0} ({1}): {2}' -f $id, $action, $Reason)
  Send-Ack $Cmd 'rejected' $Reason
}

# ------------------------------------------------------------ replay memory

function Read-Seen {
  $seen = @{}
  try {
    $doc = [IO.File]::ReadAllText($StateFile) | ConvertFrom-Json
    foreach ($p in $doc.seen.PSObject.Properties) {
      $seen[$p.Name] = @{ issued_at = [long] $p.Value.issued_at; ttl_sec = [long] $p.Value.ttl_sec }
    }
  } catch {
    Write-Log ('replay memory unreadable, starting empty: {0}' -f $_.Exception.Message)
  }
  return $seen
}

function Save-Seen($Seen, [long] $Now) {
  $out = [ordered] @{}
  foreach ($id in @($Seen.Keys)) {
    $e = $Seen[$id]
    if ($Now -le $e.issued_at + $e.ttl_sec + $SkewSec) { $out[$id] = [ordered] @{ issued_at = $e.issued_at; ttl_sec = $e.ttl_sec } }
    else { $Seen.Remove($id) }
  }
  $json = ConvertTo-Json -Compress -Depth 4 ([ordered] @{ version = 1; seen = $out })
  $tmp = $StateFile + '.tmp'
  try {
    [IO.File]::WriteAllText($tmp, $json)
    if (Test-Path -LiteralPath $StateFile) { [IO.File]::Replace($tmp, $StateFile, $null) } else { [IO.File]::Move($tmp, $StateFile) }
  } catch {
    Write-Log ('replay memory not saved (kept in memory): {0}' -f $_.Exception.Message)
  }
}

$Seen = Read-Seen

# ------------------------------------------------------------ actions

function Set-ActionEnv($Cmd, [string] $Action) {
  $env:ECOFLOW_ACTION = $Action
  $env:ECOFLOW_COMMAND_ID = $Cmd.Id
  $env:ECOFLOW_DELAY_SEC = $Cmd.DelaySec.ToString($Invariant)
  $env:ECOFLOW_REASON = Get-Clean $Cmd.Reason
}

function Get-Hooks {
  if (-not (Test-Path -LiteralPath $HooksDir -PathType Container)) { return @() }
  $names = New-Object 'System.Collections.Generic.List[string]'
  foreach ($f in @(Get-ChildItem -LiteralPath $HooksDir -File)) {
    if (-not $f.Name.StartsWith('.') -and @('.ps1', '.cmd', '.bat', '.exe') -contains $f.Extension.ToLowerInvariant()) {
      $names.Add($f.FullName)
    }
  }
  $names.Sort([StringComparer]::Ordinal)
  return ,$names.ToArray()
}

# Run a program outside PowerShell's streams (a native program's stderr must
# not become a terminating error); -1 after a timeout, which kills the tree.
function Start-Program([string] $Exe, [string[]] $ArgList, [int] $TimeoutSec) {
  $psi = New-Object Diagnostics.ProcessStartInfo
  $psi.FileName = $Exe
  $psi.Arguments = Format-Args $ArgList
  $psi.UseShellExecute = $false
  $psi.CreateNoWindow = $true
  $p = [Diagnostics.Process]::Start($psi)
  if (-not $p.WaitForExit($TimeoutSec * 1000)) {
    $kill = New-Object Diagnostics.ProcessStartInfo 'taskkill.exe', ('/T /F /PID {0}' -f $p.Id)
    $kill.UseShellExecute = $false
    $kill.CreateNoWindow = $true
    [void] ([Diagnostics.Process]::Start($kill)).WaitForExit(10000)
    return -1
  }
  $p.WaitForExit()
  return $p.ExitCode
}

function Invoke-WithTimeout([string] $Exe, [string[]] $ArgList, [string] $What, [int] $TimeoutSec) {
  $rc = Start-Program $Exe $ArgList $TimeoutSec
  if ($rc -eq -1) { Write-Log ('{0} timed out after {1} s and was killed' -f $What, $TimeoutSec) }
  elseif ($rc -ne 0) { Write-Log ('{0} failed (exit {1})' -f $What, $rc) }
  return $rc
}

function Invoke-Hooks([string] $Phase) {
  foreach ($h in (Get-Hooks)) {
    Write-Log ('running hook {0} {1}' -f $h, $Phase)
    switch ([IO.Path]::GetExtension($h).ToLowerInvariant()) {
      '.ps1' { $exe = 'powershell.exe'; $list = @('-NoProfile', '-NonInteractive', '-ExecutionPolicy', 'Bypass', '-File', $h, $Phase) }
      '.exe' { $exe = $h; $list = @($Phase) }
      default { $exe = 'cmd.exe'; $list = @('/d', '/c', $h, $Phase) }
    }
    [void] (Invoke-WithTimeout $exe $list ('hook {0} {1}' -f $h, $Phase) $HookTimeoutSec)
  }
}

function Invoke-CommandLine([string] $Line, [string] $What) {
  return (Invoke-WithTimeout 'cmd.exe' @('/d', '/c', $Line) $What $HookTimeoutSec)
}

function Invoke-Shutdown($Cmd) {
  $hooks = @(Get-Hooks).Count
  if ($DryRun -or $Cmd.DryRun) {
    Write-Log ('DRY RUN: command {0}: would run {1} hooks and power off in {2} s via {3} (reason: {4})' -f $Cmd.Id, $hooks, $Cmd.DelaySec, $Method, (Get-Clean $Cmd.Reason))
    Send-Ack $Cmd 'scheduled' ('dry run: would power off in {0} s' -f $Cmd.DelaySec)
    return
  }
  $detail = 'power-off in {0} s via {1} after {2} hooks' -f $Cmd.DelaySec, $Method, $hooks
  Write-Log ('SHUTDOWN command {0}: {1} (reason: {2})' -f $Cmd.Id, $detail, (Get-Clean $Cmd.Reason))
  # acked now: hooks may take longer than the sender waits for an ack
  Send-Ack $Cmd 'scheduled' $detail
  Set-ActionEnv $Cmd 'shutdown'
  Invoke-Hooks 'shutdown'
  if ($Method -eq 'shutdown-exe') {
    # replace any shutdown already pending, then schedule ours
    [void] (Start-Program 'shutdown.exe' @('/a') 30)
    $comment = 'ecoflow-power: ' + (Get-Clean $Cmd.Reason)
    $delay = [Math]::Min([long] $Cmd.DelaySec, 315360000L)
    $rc = Start-Program 'shutdown.exe' @('/s', '/t', $delay.ToString($Invariant), '/d', 'p:6:12', '/c', $comment) 30
  } else {
    $rc = Invoke-CommandLine $Command 'shutdown command'
  }
  if ($rc -ne 0) {
    Write-Log ('POWER-OFF FAILED for command {0}: exit {1}' -f $Cmd.Id, $rc)
    Send-Ack $Cmd 'rejected' ('power-off failed: exit {0}' -f $rc)
    return
  }
  Write-Log ('POWER-OFF scheduled in {0} s (command {1})' -f $Cmd.DelaySec, $Cmd.Id)
}

function Invoke-Abort($Cmd) {
  if ($DryRun -or $Cmd.DryRun) {
    Write-Log ('DRY RUN: command {0}: would cancel the power-off' -f $Cmd.Id)
    Send-Ack $Cmd 'aborted' 'dry run: nothing cancelled'
    return
  }
  Set-ActionEnv $Cmd 'abort'
  if ($Method -eq 'shutdown-exe') {
    $rc = Start-Program 'shutdown.exe' @('/a') 30
    # 1116: no shutdown was in progress
    if ($rc -eq 0) { $detail = 'cancelled the scheduled power-off' }
    elseif ($rc -eq 1116) { $detail = 'nothing was scheduled' }
    else { Send-Reject $Cmd ('abort failed: shutdown.exe /a exit {0}' -f $rc); return }
  } elseif ($AbortCommand -ne '') {
    $rc = Invoke-CommandLine $AbortCommand 'abort command'
    if ($rc -ne 0) { Send-Reject $Cmd ('abort failed: exit {0}' -f $rc); return }
    $detail = 'cancelled the scheduled power-off'
  } else {
    $detail = 'no abort-command configured: nothing cancelled'
  }
  Write-Log ('ABORT command {0}: {1}' -f $Cmd.Id, $detail)
  Send-Ack $Cmd 'aborted' $detail
  Invoke-Hooks 'abort'
}

# ------------------------------------------------------------ verification

function Get-IntField($Obj, [string] $Name) {
  $v = $Obj.PSObject.Properties[$Name]
  if ($null -eq $v -or $null -eq $v.Value) { return 0L }
  if ($v.Value -is [int] -or $v.Value -is [long]) {
    if ([long] $v.Value -lt 0) { throw ('command: negative "{0}"' -f $Name) }
    return [long] $v.Value
  }
  throw ('command: "{0}" must be an integer' -f $Name)
}

function Get-StringField($Obj, [string] $Name, [bool] $Required) {
  $v = $Obj.PSObject.Properties[$Name]
  if ($null -eq $v -or $null -eq $v.Value) {
    if ($Required) { throw ('command: missing "{0}"' -f $Name) }
    return $null
  }
  if ($v.Value -isnot [string]) { throw ('command: "{0}" must be a string' -f $Name) }
  return [string] $v.Value
}

function Receive-Command([string] $Payload) {
  $now = [DateTimeOffset]::UtcNow.ToUnixTimeSeconds()
  try {
    $o = $Payload | ConvertFrom-Json
    if ($o -isnot [Management.Automation.PSCustomObject]) { throw 'command: not a JSON object' }
    $dry = $o.PSObject.Properties['dry_run']
    $cmd = [pscustomobject] @{
      Id       = Get-StringField $o 'id' $true
      Action   = Get-StringField $o 'action' $true
      Reason   = Get-StringField $o 'reason' $false
      Sig      = Get-StringField $o 'sig' $false
      IssuedAt = Get-IntField $o 'issued_at'
      DelaySec = Get-IntField $o 'delay_sec'
      TtlSec   = Get-IntField $o 'ttl_sec'
      DryRun   = ($null -ne $dry -and $dry.Value -is [bool] -and $dry.Value)
    }
  } catch {
    $msg = $_.Exception.Message
    if ($msg -notlike 'command:*') { $msg = 'command: not JSON' }
    Send-Reject $null $msg
    return
  }
  if ($null -ne $Key) {
    if ($null -eq $cmd.Sig) { Send-Reject $cmd 'missing signature'; return }
    $want = Get-HmacHex $Key (Get-SigningText $AgentId $cmd.Id $cmd.Action $cmd.IssuedAt $cmd.DelaySec $cmd.TtlSec)
    if (-not (Test-SameText $want $cmd.Sig)) { Send-Reject $cmd 'bad signature'; return }
  }
  # the age check also applies without a key: a stale command kept by the
  # broker for our persistent session must never power this host off
  if ($now -gt $cmd.IssuedAt + $cmd.TtlSec + $SkewSec) {
    Send-Reject $cmd ('expired: issued {0} s ago, ttl {1} s' -f ($now - $cmd.IssuedAt), $cmd.TtlSec); return
  }
  if ($cmd.IssuedAt -gt $now + $SkewSec) {
    Send-Reject $cmd ('issued {0} s in the future' -f ($cmd.IssuedAt - $now)); return
  }
  if (@('shutdown', 'abort', 'test') -notcontains $cmd.Action) { Send-Reject $cmd 'unknown action'; return }
  if ($Seen.ContainsKey($cmd.Id)) { Send-Reject $cmd 'replayed command id: already handled'; return }
  $Seen[$cmd.Id] = @{ issued_at = $cmd.IssuedAt; ttl_sec = $cmd.TtlSec }
  Save-Seen $Seen $now

  switch ($cmd.Action) {
    'test' { Write-Log ('TEST command {0}: ok' -f $cmd.Id); Send-Ack $cmd 'tested' ('test received by {0}' -f $HostName) }
    'shutdown' { Invoke-Shutdown $cmd }
    'abort' { Invoke-Abort $cmd }
  }
}

function Receive-Line([string] $Line) {
  $sp = $Line.IndexOf(' ')
  if ($sp -lt 1) { return }
  $topic = $Line.Substring(0, $sp)
  $payload = $Line.Substring($sp + 1)
  if ($topic -eq $CmdTopic) { Receive-Command $payload }
  elseif ($topic -eq $StatusTopic -and $payload -like '*"offline"*') {
    # our own will, seen after a reconnect: we are alive, say so
    Send-Status 'online'
  }
}

# ------------------------------------------------------------ main loop

if ($null -eq $Key) {
  Write-Log ('warning: no [agent] key-file in {0}: commands are not authenticated, anyone who can publish to {1} on the broker can shut this host down' -f $ConfigPath, $CmdTopic)
}
if ($DryRun) { Write-Log 'dry run: commands are verified, logged and acknowledged, never carried out' }
Write-Log ('agent {0} listening on {1} ({2}:{3}, power-off via {4})' -f $AgentId, $CmdTopic, $MqttHost, $MqttPort, $Method)

# a previous instance killed by Task Scheduler can leave its mosquitto_sub
# behind, which would fight the new one over the client id: end it
$SubPidFile = Join-Path $RunDir 'mosquitto_sub.pid'
if (Test-Path -LiteralPath $SubPidFile) {
  $old = 0
  if ([int]::TryParse(([IO.File]::ReadAllText($SubPidFile)).Trim(), [ref] $old)) {
    $proc = Get-Process -Id $old -ErrorAction SilentlyContinue
    if ($null -ne $proc -and $proc.ProcessName -eq 'mosquitto_sub') {
      Write-Log ('ending the mosquitto_sub ({0}) of a previous instance' -f $old)
      $proc.Kill()
    }
  }
}

[Console]::OutputEncoding = New-Object Text.UTF8Encoding $false
$backoff = 1
while ($true) {
  # persistent session (-c, stable client id), QoS 1: commands sent while we
  # are away wait on the broker; the will marks us offline if we die
  $subArgs = $ConnArgs + @('-q', '1', '-c', '-i', ('ecoflow-power-agent-' + $AgentId), '-t', $CmdTopic, '-t', $StatusTopic, '-v')
  $psi = New-ClientStartInfo $SubExe $subArgs
  $psi.RedirectStandardOutput = $true
  $psi.StandardOutputEncoding = New-Object Text.UTF8Encoding $false
  $sub = [Diagnostics.Process]::Start($psi)
  [IO.File]::WriteAllText($SubPidFile, $sub.Id.ToString($Invariant))
  $started = Get-Date
  Send-Status 'online'
  try {
    while ($null -ne ($line = $sub.StandardOutput.ReadLine())) {
      try { Receive-Line $line } catch { Write-Log ('error handling a message: {0}' -f $_.Exception.Message) }
    }
  } finally {
    if (-not $sub.HasExited) { $sub.Kill() }
  }
  $sub.WaitForExit()
  # mosquitto_sub reconnects by itself; it only exits on a hard error (e.g.
  # refused credentials): retry with backoff, 1 s doubling to 30 s
  if (((Get-Date) - $started).TotalSeconds -gt 60) { $backoff = 1 }
  Write-Log ('mosquitto_sub exited (exit {0}); retrying in {1} s' -f $sub.ExitCode, $backoff)
  Start-Sleep -Seconds $backoff
  $backoff = [Math]::Min($backoff * 2, 30)
}
