# ecoflow-power-agent.ps1: the ecoflow-power host agent for Windows.
#
# Windows PowerShell 5.1 or PowerShell 7, mosquitto_sub.exe / mosquitto_pub.exe
# 2.x (the mosquitto Windows installer), no Python, no modules. It runs as
# SYSTEM from Task Scheduler (see install.ps1 and README.md).
#
#   ecoflow-power-agent.ps1 [-Config FILE] [-DryRun] [-Verbose]
#   ecoflow-power-agent.ps1 -Sign KEY-FILE AGENT ID ACTION ISSUED_AT DELAY_SEC TTL_SEC
#   ecoflow-power-agent.ps1 -SelfTest
#
# The configuration uses the Linux agent's key-file format (CONTRACT 4.7), with
# Windows values for [shutdown] method (shutdown-exe or command) and one
# Windows-only key, [mqtt] clients-dir (where mosquitto_sub.exe lives).
#
# Exit status: 0 -SelfTest passed, 1 -SelfTest failed, 64 bad command line,
# 78 bad configuration (one line naming the file, [group] key, expected and
# found).
#
# Keep this file ASCII: Windows PowerShell 5.1 reads a script without a BOM in
# the ANSI code page, so any other character in a string would change.

Set-StrictMode -Version 2.0
$ErrorActionPreference = 'Stop'

$AgentVersion = '0.1.0-ps'
$SkewSec = 30
$Invariant = [Globalization.CultureInfo]::InvariantCulture
$Utf8NoBom = New-Object Text.UTF8Encoding $false
# throws on invalid UTF-8 instead of putting U+FFFD in its place
$StrictUtf8 = New-Object Text.UTF8Encoding $false, $true

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

# Why the key cannot be used, or $null. Like the C agent the key must be UTF-8
# text; a UTF-16 file (Out-File and ">" in Windows PowerShell 5.1 write one)
# holds NUL bytes, and a UTF-8 byte order mark (Notepad on older Windows,
# Set-Content -Encoding UTF8 in 5.1) would silently become part of the key.
function Get-KeyProblem([byte[]] $Key) {
  if ($Key.Length -eq 0) { return 'expected a non-empty key, found an empty file' }
  if ($Key.Length -ge 3 -and $Key[0] -eq 0xEF -and $Key[1] -eq 0xBB -and $Key[2] -eq 0xBF) {
    return 'expected the key without a byte order mark, found one (save the file as UTF-8 without BOM)'
  }
  if ([Array]::IndexOf($Key, [byte] 0) -ge 0) {
    return 'expected UTF-8 text, found NUL bytes (a UTF-16 file? save it as UTF-8 without BOM)'
  }
  try { [void] $StrictUtf8.GetString($Key) } catch { return 'expected UTF-8 text, found binary data' }
  return $null
}

# "v1\n<agent>\n<id>\n<action>\n<issued_at>\n<delay_sec>\n<ttl_sec>", LF only,
# the integers in the invariant culture
function Get-SigningText([string] $AgentId, [string] $CommandId, [string] $Action,
                         [long] $IssuedAt, [long] $DelaySec, [long] $TtlSec) {
  return ('v1', $AgentId, $CommandId, $Action, $IssuedAt.ToString($Invariant),
          $DelaySec.ToString($Invariant), $TtlSec.ToString($Invariant)) -join "`n"
}

function Get-HmacHex([byte[]] $Key, [string] $Text) {
  $hmac = New-Object System.Security.Cryptography.HMACSHA256 -ArgumentList @(,$Key)
  try {
    $hash = $hmac.ComputeHash($Utf8NoBom.GetBytes($Text))
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

# ------------------------------------------------------------ command parsing

# Untrusted text for logs, the environment and shutdown.exe: one line, no
# control characters, no double quotes, at most 200 characters.
function Get-Clean([string] $Text) {
  if ($null -eq $Text) { return '' }
  $t = ($Text -replace '[\x00-\x1f\x7f"]', ' ')
  if ($t.Length -gt 200) { $t = $t.Substring(0, 200) }
  return $t
}

# A member of a parsed JSON object, by its exact name (PowerShell looks
# members up case-insensitively; json-glib in the C agent does not).
function Get-JsonMember($Obj, [string] $Name) {
  $p = $Obj.PSObject.Properties[$Name]
  if ($null -eq $p -or $p.Name -cne $Name -or $null -eq $p.Value) { return $null }
  return $p
}

# ConvertFrom-Json makes [int] or [long] of an integer (Windows PowerShell
# 5.1: [int] up to 2147483647, [long] above; PowerShell 7: [long]), [decimal]
# or [double] of anything with a fraction or exponent, and those are refused.
function Get-IntField($Obj, [string] $Name) {
  $p = Get-JsonMember $Obj $Name
  if ($null -eq $p) { return 0L }
  if ($p.Value -is [int] -or $p.Value -is [long]) { return [long] $p.Value }
  throw ('command: "{0}" must be an integer' -f $Name)
}

function Get-StringField($Obj, [string] $Name, [bool] $Required) {
  $p = Get-JsonMember $Obj $Name
  if ($null -eq $p) {
    if ($Required) { throw ('command: missing "{0}"' -f $Name) }
    return $null
  }
  if ($p.Value -isnot [string]) { throw ('command: "{0}" must be a string' -f $Name) }
  return [string] $p.Value
}

# The command of CONTRACT 4.3, with the C agent's checks; throws 'command: ...'.
function ConvertTo-Command([string] $Payload) {
  # PowerShell 7 would unroll a one-element array into its object
  if (-not $Payload.TrimStart().StartsWith('{')) { throw 'command: not a JSON object' }
  try { $o = $Payload | ConvertFrom-Json } catch {
    throw ('command: not JSON: {0}' -f (Get-Clean $_.Exception.Message))
  }
  if ($o -isnot [Management.Automation.PSCustomObject]) { throw 'command: not a JSON object' }
  $dry = Get-JsonMember $o 'dry_run'
  if ($null -ne $dry -and $dry.Value -isnot [bool]) { throw 'command: "dry_run" must be a boolean' }
  $cmd = [pscustomobject] @{
    Id       = Get-StringField $o 'id' $true
    Action   = Get-StringField $o 'action' $true
    Reason   = Get-StringField $o 'reason' $false
    Sig      = Get-StringField $o 'sig' $false
    IssuedAt = Get-IntField $o 'issued_at'
    DelaySec = Get-IntField $o 'delay_sec'
    TtlSec   = Get-IntField $o 'ttl_sec'
    DryRun   = ($null -ne $dry -and $dry.Value)
  }
  # checked like the C agent, not used here
  [void] (Get-StringField $o 'device' $false)
  [void] (Get-StringField $o 'policy' $false)
  [void] (Get-IntField $o 'stage')
  if ($cmd.DelaySec -lt 0 -or $cmd.TtlSec -lt 0) { throw 'command: negative delay_sec or ttl_sec' }
  return $cmd
}

# Why the command is too old or from the future, or $null (30 s clock skew
# both ways).
function Get-AgeProblem($Cmd, [long] $Now) {
  if ($Now -gt $Cmd.IssuedAt + $Cmd.TtlSec + $SkewSec) {
    return ('expired: issued {0} s ago, ttl {1} s' -f ($Now - $Cmd.IssuedAt), $Cmd.TtlSec)
  }
  if ($Cmd.IssuedAt -gt $Now + $SkewSec) {
    return ('issued {0} s in the future' -f ($Cmd.IssuedAt - $Now))
  }
  return $null
}

function ConvertFrom-HexText([string] $Hex) {
  if ($Hex.Length % 2 -ne 0 -or $Hex -notmatch '^[0-9A-Fa-f]*$') { throw 'not hex' }
  $bytes = New-Object byte[] ($Hex.Length / 2)
  for ($i = 0; $i -lt $bytes.Length; $i++) { $bytes[$i] = [Convert]::ToByte($Hex.Substring(2 * $i, 2), 16) }
  return ,$bytes
}

# ------------------------------------------------------------ self-test

# tests/data/signature-vectors.json, the vectors every agent is checked
# against. The keys are the UTF-8 bytes in hex (one of them is not ASCII):
# "correct horse battery staple", "kkk...-a-very-long-shared-secret-that-is-
# longer-than-one-block-zzzzzzzzz" (103 bytes), "6\6\ pads with NUL 66\\",
# "schl<u-umlaut>ssel-<Cyrillic>-<CJK>", "0123456789abcdef" x 4 (64 bytes).
$SignatureVectors = @(
  @{ KeyHex = '636f727265637420686f727365206261747465727920737461706c65'
     Agent = 'pc-study'; Id = '6f1c1f57-3f0e-4a36-9a59-3b8f0f7f6a10'; Action = 'shutdown'; Reason = 'test'
     IssuedAt = 1767225600; DelaySec = 60; TtlSec = 300
     SigningText = 'v1\npc-study\n6f1c1f57-3f0e-4a36-9a59-3b8f0f7f6a10\nshutdown\n1767225600\n60\n300'
     Sig = 'd09ee5026a0ecc731463e1fe893e8a08ad35e094ede675e1eb5ce888aeda3091' }
  @{ KeyHex = '6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b2d612d766572792d6c6f6e672d7368617265642d7365637265742d746861742d69732d6c6f6e6765722d7468616e2d6f6e652d626c6f636b2d7a7a7a7a7a7a7a7a7a'
     Agent = 'nas-01'; Id = '0b8e5a7e-0c3f-4f49-8a55-1f6a3a7c2e01'; Action = 'shutdown'; Reason = 'grid lost'
     IssuedAt = 1767229200; DelaySec = 120; TtlSec = 300
     SigningText = 'v1\nnas-01\n0b8e5a7e-0c3f-4f49-8a55-1f6a3a7c2e01\nshutdown\n1767229200\n120\n300'
     Sig = '1ee36de5574f6abd83c63dbb1bca6934a13a26d3446f38c55604591c81059a2d' }
  @{ KeyHex = '365c365c20706164732077697468204e554c2036365c5c'
     Agent = 'pc-study'; Id = '5d3a6a64-2d5e-4f7a-9b8e-6c1d2e3f4a5b'; Action = 'abort'; Reason = 'grid back'
     IssuedAt = 1767225700; DelaySec = 0; TtlSec = 120
     SigningText = 'v1\npc-study\n5d3a6a64-2d5e-4f7a-9b8e-6c1d2e3f4a5b\nabort\n1767225700\n0\n120'
     Sig = '22e5482d2753525c68261d9387548f4256278e49eb58935c7f08b5982769abc7' }
  @{ KeyHex = '7363686cc3bc7373656c2dd0bad0bbd18ed1872de98db5'
     Agent = 'nas.box_1'; Id = 'c0ffee00-1234-4abc-8def-0123456789ab'; Action = 'test'; Reason = 'test'
     IssuedAt = 1767225800; DelaySec = 0; TtlSec = 60
     SigningText = 'v1\nnas.box_1\nc0ffee00-1234-4abc-8def-0123456789ab\ntest\n1767225800\n0\n60'
     Sig = '121bcd716061855aa686beca43cf0790b231a9af618244a0686a0b6c8d860ada' }
  @{ KeyHex = '30313233343536373839616263646566303132333435363738396162636465663031323334353637383961626364656630313233343536373839616263646566'
     Agent = 'mac-mini'; Id = 'cmd-42'; Action = 'shutdown'; Reason = 'runtime low'
     IssuedAt = 4102444800; DelaySec = 3600; TtlSec = 604800
     SigningText = 'v1\nmac-mini\ncmd-42\nshutdown\n4102444800\n3600\n604800'
     Sig = '33a3ad0cc7de592875443a6975202682324107c8f6f0e88b74ecab7495e4b83b' }
)

# Prints one line per vector (not Write-Output: the caller takes only the
# verdict). Each vector goes the way a real command goes: key file (no newline, LF,
# CRLF) -> Read-KeyBytes, command JSON -> ConvertTo-Command -> signing text ->
# HMAC -> constant-time compare, then the age rule around its edges.
function Invoke-SelfTest {
  $failed = 0
  $n = 0
  $tmp = [IO.Path]::GetTempFileName()
  try {
    foreach ($v in $SignatureVectors) {
      $n++
      $problems = New-Object 'System.Collections.Generic.List[string]'
      $key = ConvertFrom-HexText $v.KeyHex
      foreach ($ending in @('', "`n", "`r`n")) {
        $ebytes = $Utf8NoBom.GetBytes($ending)
        $file = New-Object byte[] ($key.Length + $ebytes.Length)
        [Array]::Copy($key, $file, $key.Length)
        [Array]::Copy($ebytes, 0, $file, $key.Length, $ebytes.Length)
        [IO.File]::WriteAllBytes($tmp, $file)
        $read = Read-KeyBytes $tmp
        if ([BitConverter]::ToString($read) -ne [BitConverter]::ToString($key)) {
          $problems.Add(('key file ending {0}: wrong key bytes' -f (($ebytes | ForEach-Object { '{0:x2}' -f $_ }) -join '')))
        }
        $kp = Get-KeyProblem $read
        if ($null -ne $kp) { $problems.Add(('key refused: {0}' -f $kp)) }
      }
      try {
        $json = '{{"id":"{0}","action":"{1}","delay_sec":{2},"reason":"{3}","ttl_sec":{4},"issued_at":{5},"device":null,"policy":null,"stage":1,"dry_run":false,"sig":"{6}"}}' -f `
          $v.Id, $v.Action, $v.DelaySec.ToString($Invariant), $v.Reason, $v.TtlSec.ToString($Invariant), $v.IssuedAt.ToString($Invariant), $v.Sig
        $cmd = ConvertTo-Command $json
        $text = Get-SigningText $v.Agent $cmd.Id $cmd.Action $cmd.IssuedAt $cmd.DelaySec $cmd.TtlSec
        if ($text -cne $v.SigningText.Replace('\n', "`n")) {
          $problems.Add(('signing text {0}' -f ($text -replace "`n", '\n')))
        }
        $sig = Get-HmacHex $key $text
        if ($sig -cne $v.Sig) { $problems.Add(('sig {0}' -f $sig)) }
        if (-not (Test-SameText $sig $cmd.Sig)) { $problems.Add('the compare refuses the right sig') }
        $forged = $cmd.Sig.Substring(0, 63) + $(if ($cmd.Sig.EndsWith('0')) { '1' } else { '0' })
        if (Test-SameText $sig $forged) { $problems.Add('the compare accepts a wrong sig') }
        $edge = $cmd.IssuedAt + $cmd.TtlSec + $SkewSec
        if ($null -ne (Get-AgeProblem $cmd $edge)) { $problems.Add(('refused as old at issued_at + ttl_sec + {0}' -f $SkewSec)) }
        if ($null -eq (Get-AgeProblem $cmd ($edge + 1))) { $problems.Add('accepted after issued_at + ttl_sec + skew') }
        if ($null -ne (Get-AgeProblem $cmd ($cmd.IssuedAt - $SkewSec))) { $problems.Add(('refused when issued {0} s ahead' -f $SkewSec)) }
        if ($null -eq (Get-AgeProblem $cmd ($cmd.IssuedAt - $SkewSec - 1))) { $problems.Add('accepted when issued 31 s ahead') }
      } catch {
        $problems.Add(('threw: {0}' -f $_.Exception.Message))
      }
      if ($problems.Count -eq 0) {
        [Console]::Out.WriteLine(('ok {0} - {1} {2} {3}' -f $n, $v.Agent, $v.Action, $v.Sig))
      } else {
        $failed++
        [Console]::Out.WriteLine(('not ok {0} - {1} {2}: {3}' -f $n, $v.Agent, $v.Action, ($problems -join '; ')))
      }
    }
  } finally {
    Remove-Item -LiteralPath $tmp -Force -ErrorAction SilentlyContinue
  }
  $hmacName = 'System.Security.Cryptography.HMACSHA256'
  [Console]::Out.WriteLine(('{0} passed, {1} failed (PowerShell {2}, {3})' -f ($n - $failed), $failed, $PSVersionTable.PSVersion, $hmacName))
  return ($failed -eq 0)
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
      $n = @()
      foreach ($t in $args[($i + 5)..($i + 7)]) {
        $v = 0L
        if (-not [long]::TryParse([string] $t, [Globalization.NumberStyles]::AllowLeadingSign, $Invariant, [ref] $v)) {
          Write-Err ("-Sign: ISSUED_AT, DELAY_SEC and TTL_SEC: expected integers, found '{0}'" -f $t); exit 64
        }
        $n += $v
      }
      try { $key = Read-KeyBytes ([string] $args[$i + 1]) } catch {
        Write-Err ('-Sign: {0}: expected a readable key file, found: {1}' -f $args[$i + 1], $_.Exception.Message); exit 64
      }
      $kp = Get-KeyProblem $key
      if ($null -ne $kp) { Write-Err ('-Sign: {0}: {1}' -f $args[$i + 1], $kp); exit 64 }
      Write-Output (Get-HmacHex $key (Get-SigningText ([string] $args[$i + 2]) ([string] $args[$i + 3]) ([string] $args[$i + 4]) $n[0] $n[1] $n[2]))
      exit 0
    }
    '-SelfTest' {
      if (Invoke-SelfTest) { exit 0 } else { exit 1 }
    }
    { $_ -in @('-Help', '-h', '/?') } {
      Write-Output 'usage: ecoflow-power-agent.ps1 [-Config FILE] [-DryRun] [-Verbose]'
      Write-Output '       ecoflow-power-agent.ps1 -Sign KEY-FILE AGENT ID ACTION ISSUED_AT DELAY_SEC TTL_SEC'
      Write-Output '       ecoflow-power-agent.ps1 -SelfTest'
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
  $kp = Get-KeyProblem $Key
  if ($null -ne $kp) { Fail-Config ('[agent] key-file: {0}: {1}' -f $KeyFile, $kp) }
}
$MqttPassword = ''
if ($MqttPasswordFile -ne '') {
  try { $MqttPassword = ([IO.File]::ReadAllText($MqttPasswordFile) -split "`r?`n")[0] } catch {
    Fail-Config ('[mqtt] password-file: expected a readable secret file, found: {0}' -f $_.Exception.Message)
  }
}
# --tls-use-os-certs would not help: on Windows it loads OpenSSL's default CA
# file, not the Windows certificate store
if ($MqttTls -and $MqttCaFile -eq '') {
  Fail-Config '[mqtt] ca-file: expected the broker CA certificate (PEM) with tls=true, found nothing'
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
    if ((Test-Path -LiteralPath $LogFile) -and (Get-Item -LiteralPath $LogFile).Length -gt 1048576) {
      Move-Item -LiteralPath $LogFile -Destination ($LogFile + '.1') -Force
    }
    # not Add-Content -Encoding UTF8: in 5.1 that starts a new file with a BOM
    [IO.File]::AppendAllText($LogFile, $line + "`r`n", $Utf8NoBom)
  } catch { }
  # not Write-Output: functions that log must not return the log line
  [Console]::Out.WriteLine($line)
}
function Write-Info([string] $Message) { if ($VerboseLog) { Write-Log $Message } }

# ------------------------------------------------------------ processes

# One argument quoted for CommandLineToArgvW and the C runtime (what
# mosquitto, shutdown.exe and powershell.exe parse their command lines with):
# backslashes are doubled only before a quote or the closing quote.
function Format-Arg([string] $Arg) {
  if ($Arg -ne '' -and $Arg -notmatch '[\s"]') { return $Arg }
  $s = $Arg -replace '(\\*)"', '$1$1\"'
  $s = $s -replace '(\\+)$', '$1$1'
  return '"' + $s + '"'
}

function Format-Args([string[]] $List) {
  return (@($List | ForEach-Object { Format-Arg $_ }) -join ' ')
}

# cmd.exe does not know \" at all: /s /c "..." runs what is between the first
# and the last quote exactly as written
function Format-CmdArgs([string] $Line) {
  return '/d /s /c "' + $Line + '"'
}

# Run a program outside PowerShell's streams (a native program's stderr must
# not become a terminating error); -1 after a timeout, which kills the tree.
function Start-Program([string] $Exe, [string] $Arguments, [long] $TimeoutSec) {
  $psi = New-Object Diagnostics.ProcessStartInfo
  $psi.FileName = $Exe
  $psi.Arguments = $Arguments
  $psi.UseShellExecute = $false
  $psi.CreateNoWindow = $true
  $p = [Diagnostics.Process]::Start($psi)
  try {
    if (-not $p.WaitForExit([int] ($TimeoutSec * 1000))) {
      $kill = New-Object Diagnostics.ProcessStartInfo 'taskkill.exe', ('/T /F /PID {0}' -f $p.Id)
      $kill.UseShellExecute = $false
      $kill.CreateNoWindow = $true
      $k = [Diagnostics.Process]::Start($kill)
      [void] $k.WaitForExit(10000)
      $k.Dispose()
      return -1
    }
    $p.WaitForExit()
    return $p.ExitCode
  } finally {
    $p.Dispose()
  }
}

# ------------------------------------------------------------ MQTT clients

# The password, the will and the credentials go into option files that
# mosquitto_sub/pub read from %USERPROFILE%\mosquitto_{sub,pub}.conf (one
# option per line, the value is the rest of the line). So they stay off
# command lines, and the JSON quotes avoid Windows argument quoting.
$RunDir = Join-Path $DataDir 'run'
New-Item -ItemType Directory -Force -Path $RunDir | Out-Null
$common = @()
if ($MqttUser -ne '') { $common += ('-u ' + $MqttUser) }
if ($MqttPassword -ne '') { $common += ('-P ' + $MqttPassword) }
[IO.File]::WriteAllLines((Join-Path $RunDir 'mosquitto_pub.conf'), [string[]] $common)
[IO.File]::WriteAllLines((Join-Path $RunDir 'mosquitto_sub.conf'), [string[]] ($common + @(
  ('--will-topic ' + $StatusTopic), '--will-payload {"state":"offline"}', '--will-qos 1', '--will-retain')))

$ConnArgs = @('-h', $MqttHost, '-p', $MqttPort.ToString($Invariant))
if ($MqttTls) {
  # the clients verify the broker certificate and host name unless --insecure
  # is given; it never is
  $ConnArgs += @('--cafile', $MqttCaFile)
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

# $true once the broker has taken the message (mosquitto_pub -q 1 exits 0
# after the PUBACK)
$PubSeq = 0
function Publish-Json([string] $Topic, [string] $Json, [switch] $Retain) {
  $script:PubSeq++
  $file = Join-Path $RunDir ('pub-{0}-{1}.json' -f $PID, $script:PubSeq)
  $ok = $false
  try {
    [IO.File]::WriteAllText($file, $Json, $Utf8NoBom)
    $list = $ConnArgs + @('-q', '1', '-t', $Topic, '-f', $file)
    if ($Retain) { $list += '-r' }
    $p = [Diagnostics.Process]::Start((New-ClientStartInfo $PubExe $list))
    try {
      if (-not $p.WaitForExit(15000)) { $p.Kill(); Write-Log ('mosquitto_pub to {0} timed out' -f $Topic) }
      elseif ($p.ExitCode -ne 0) { Write-Log ('mosquitto_pub to {0} failed (exit {1})' -f $Topic, $p.ExitCode) }
      else { $ok = $true }
    } finally {
      $p.Dispose()
    }
  } catch {
    Write-Log ('mosquitto_pub to {0} could not run: {1}' -f $Topic, $_.Exception.Message)
  } finally {
    Remove-Item -LiteralPath $file -Force -ErrorAction SilentlyContinue
  }
  return $ok
}

function ConvertTo-CompactJson($Object) { return ($Object | ConvertTo-Json -Compress) }

# Acks the broker did not take, sent again after the next online status (as
# the C agent does on the next CONNACK)
$PendingAcks = New-Object 'System.Collections.Generic.List[string]'

function Send-PendingAcks {
  while ($script:PendingAcks.Count -gt 0) {
    if (-not (Publish-Json $AckTopic $script:PendingAcks[0])) { return }
    $script:PendingAcks.RemoveAt(0)
  }
}

function Send-Status([string] $State) {
  if ($State -eq 'online') {
    $o = [ordered] @{ state = 'online'; version = $AgentVersion; host = $HostName; ts = [DateTimeOffset]::UtcNow.ToUnixTimeSeconds() }
  } else {
    $o = [ordered] @{ state = 'offline' }
  }
  if ((Publish-Json $StatusTopic (ConvertTo-CompactJson $o) -Retain) -and $State -eq 'online') { Send-PendingAcks }
}

# {"id","action","result","detail"} (CONTRACT 4.4); id and action as they
# came, ConvertTo-Json escapes them
function Send-Ack($Cmd, [string] $Result, [string] $Detail) {
  $id = ''; $action = ''
  if ($null -ne $Cmd) {
    if ($null -ne $Cmd.Id) { $id = $Cmd.Id }
    if ($null -ne $Cmd.Action) { $action = $Cmd.Action }
  }
  Write-Info ('ACK {0} {1}: {2}' -f (Get-Clean $id), $Result, $Detail)
  $json = ConvertTo-CompactJson ([ordered] @{ id = $id; action = $action; result = $Result; detail = $Detail })
  if (-not (Publish-Json $AckTopic $json)) {
    if ($script:PendingAcks.Count -ge 100) { $script:PendingAcks.RemoveAt(0) }
    $script:PendingAcks.Add($json)
  }
}

function Send-Reject($Cmd, [string] $Reason) {
  $id = '-'; $action = '-'
  if ($null -ne $Cmd) { $id = Get-Clean $Cmd.Id; $action = Get-Clean $Cmd.Action }
  Write-Log ('REJECTED command {0} ({1}): {2}' -f $id, $action, $Reason)
  Send-Ack $Cmd 'rejected' $Reason
}

# ------------------------------------------------------------ replay memory

# A PowerShell hashtable compares keys case-insensitively, like the member
# names ConvertFrom-Json makes of seen.json: two ids that differ only in case
# (the daemon's are lowercase UUIDs) count as one, never as two entries that
# would make the file unreadable for Windows PowerShell 5.1.
function Read-Seen {
  $seen = @{}
  try {
    $doc = [IO.File]::ReadAllText($StateFile) | ConvertFrom-Json
    $list = Get-JsonMember $doc 'seen'
    if ($null -eq $list -or $list.Value -isnot [Management.Automation.PSCustomObject]) {
      throw 'expected {"seen":{...}}, found something else'
    }
    foreach ($p in $list.Value.PSObject.Properties) {
      if ($p.Value -isnot [Management.Automation.PSCustomObject]) { continue }
      $ia = 0L; $ttl = 0L
      $m = Get-JsonMember $p.Value 'issued_at'
      if ($null -ne $m -and ($m.Value -is [int] -or $m.Value -is [long])) { $ia = [long] $m.Value }
      $m = Get-JsonMember $p.Value 'ttl_sec'
      if ($null -ne $m -and ($m.Value -is [int] -or $m.Value -is [long])) { $ttl = [long] $m.Value }
      $seen[$p.Name] = @{ issued_at = $ia; ttl_sec = $ttl }
    }
  } catch {
    # the age check still refuses anything older than ttl + skew
    Write-Log ('replay memory unreadable, starting empty: {0}' -f $_.Exception.Message)
  }
  return $seen
}

# Drops the ids that have expired (the age check refuses them from then on),
# then replaces the file atomically: a flushed temporary file, then
# ReplaceFile over the old one.
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
    $bytes = $Utf8NoBom.GetBytes($json)
    $fs = [IO.File]::Open($tmp, [IO.FileMode]::Create, [IO.FileAccess]::Write, [IO.FileShare]::None)
    try {
      $fs.Write($bytes, 0, $bytes.Length)
      $fs.Flush($true)
    } finally {
      $fs.Dispose()
    }
    # [NullString]::Value, not $null: PowerShell would pass $null to a string
    # parameter as "", and File.Replace refuses "" as the backup file name
    if (Test-Path -LiteralPath $StateFile) { [IO.File]::Replace($tmp, $StateFile, [NullString]::Value) } else { [IO.File]::Move($tmp, $StateFile) }
  } catch {
    Write-Log ('replay memory not saved (kept in memory): {0}' -f $_.Exception.Message)
  }
}

$Seen = Read-Seen

# ------------------------------------------------------------ actions

# the power-off this agent has scheduled (unix seconds, 0 when none), for the
# rule that a second shutdown never moves it later
$PowerOffAt = 0L
$PowerOffId = ''
$PowerOffReason = ''

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
  # unrolled: callers take @(Get-Hooks), which a ,$array would nest
  return $names.ToArray()
}

function Invoke-WithTimeout([string] $Exe, [string] $Arguments, [string] $What, [long] $TimeoutSec) {
  $rc = Start-Program $Exe $Arguments $TimeoutSec
  if ($rc -eq -1) { Write-Log ('{0} timed out after {1} s and was killed' -f $What, $TimeoutSec) }
  elseif ($rc -ne 0) { Write-Log ('{0} failed (exit {1})' -f $What, $rc) }
  return $rc
}

# a failing hook does not stop the rest, nor the power-off
function Invoke-Hooks([string] $Phase) {
  foreach ($h in @(Get-Hooks)) {
    Write-Log ('running hook {0} {1}' -f $h, $Phase)
    switch ([IO.Path]::GetExtension($h).ToLowerInvariant()) {
      '.ps1' { $exe = 'powershell.exe'; $argLine = Format-Args @('-NoProfile', '-NonInteractive', '-ExecutionPolicy', 'Bypass', '-File', $h, $Phase) }
      '.exe' { $exe = $h; $argLine = Format-Arg $Phase }
      default { $exe = 'cmd.exe'; $argLine = Format-CmdArgs ('"' + $h + '" ' + $Phase) }
    }
    try {
      [void] (Invoke-WithTimeout $exe $argLine ('hook {0} {1}' -f $h, $Phase) $HookTimeoutSec)
    } catch {
      Write-Log ('hook {0} {1} could not run: {2}' -f $h, $Phase, $_.Exception.Message)
    }
  }
}

function Invoke-CommandLine([string] $Line, [string] $What) {
  return (Invoke-WithTimeout 'cmd.exe' (Format-CmdArgs $Line) $What $HookTimeoutSec)
}

# shutdown.exe /s /f /t N /c "...": exit 0, or 1190 when a shutdown is
# already scheduled. /f is what /t N > 0 implies anyway; with it /t 0 cannot be
# held up by an application either. No /d: a reason code that is not defined
# as planned makes shutdown.exe fail. The comment is kept within 127
# characters, the limit of older Windows versions.
function Start-ShutdownExe([long] $DelaySec, [string] $Reason) {
  $comment = ('ecoflow-power: ' + $Reason).Trim()
  if ($comment.Length -gt 127) { $comment = $comment.Substring(0, 127) }
  $delay = [Math]::Min($DelaySec, [long] 315360000)
  return (Start-Program 'shutdown.exe' (Format-Args @('/s', '/f', '/t', $delay.ToString($Invariant), '/c', $comment)) 30)
}

function Invoke-Shutdown($Cmd) {
  $hooks = @(Get-Hooks).Count
  $reason = Get-Clean $Cmd.Reason
  if ($DryRun -or $Cmd.DryRun) {
    Write-Log ('DRY RUN: command {0}: would run {1} hooks and power off in {2} s via {3} (reason: {4})' -f $Cmd.Id, $hooks, $Cmd.DelaySec, $Method, $reason)
    Send-Ack $Cmd 'scheduled' ('dry run: would power off in {0} s' -f $Cmd.DelaySec)
    return
  }
  $now = [DateTimeOffset]::UtcNow.ToUnixTimeSeconds()
  $pending = $script:PowerOffAt -gt $now
  if ($pending -and $now + $Cmd.DelaySec -ge $script:PowerOffAt) {
    # another policy, a cooldown re-fire or a resend: a later time would
    # postpone the power-off again and again while the battery drains
    $left = $script:PowerOffAt - $now
    $detail = 'power-off already scheduled in {0} s (command {1}); kept' -f $left, $script:PowerOffId
    Write-Log ('SHUTDOWN command {0}: {1}' -f $Cmd.Id, $detail)
    Send-Ack $Cmd 'scheduled' $detail
    if ($Method -eq 'shutdown-exe') {
      # 1190: ours still stands. 0: it had been cancelled outside the agent
      # (shutdown /a by hand) and now stands again, at the same time.
      $rc = Start-ShutdownExe $left $script:PowerOffReason
      if ($rc -eq 0) { Write-Log ('the power-off had been cancelled outside the agent; scheduled again in {0} s' -f $left) }
      elseif ($rc -ne 1190) { Write-Log ('checking the scheduled power-off: shutdown.exe exit {0}' -f $rc) }
    }
    return
  }
  if ($pending) {
    # sooner than the schedule standing: the hooks have run, only the time moves
    $detail = 'rescheduled: power-off in {0} s via {1}' -f $Cmd.DelaySec, $Method
    Write-Log ('SHUTDOWN command {0}: {1} (reason: {2})' -f $Cmd.Id, $detail, $reason)
    Send-Ack $Cmd 'scheduled' $detail
    Set-ActionEnv $Cmd 'shutdown'
  } else {
    $detail = 'power-off in {0} s via {1} after {2} hooks' -f $Cmd.DelaySec, $Method, $hooks
    Write-Log ('SHUTDOWN command {0}: {1} (reason: {2})' -f $Cmd.Id, $detail, $reason)
    # acked now: hooks may take longer than the sender waits for an ack
    Send-Ack $Cmd 'scheduled' $detail
    Set-ActionEnv $Cmd 'shutdown'
    Invoke-Hooks 'shutdown'
  }
  try {
    if ($Method -eq 'shutdown-exe') {
      $rc = Start-ShutdownExe $Cmd.DelaySec $reason
      if ($rc -eq 1190) {
        # ours when sooner, or one scheduled outside the agent: replace it
        [void] (Start-Program 'shutdown.exe' '/a' 30)
        $rc = Start-ShutdownExe $Cmd.DelaySec $reason
      }
    } else {
      $rc = Invoke-CommandLine $Command 'shutdown command'
    }
  } catch {
    Write-Log ('power-off could not run: {0}' -f $_.Exception.Message)
    $rc = -2
  }
  if ($rc -ne 0) {
    $script:PowerOffAt = 0L
    Write-Log ('POWER-OFF FAILED for command {0}: exit {1}' -f $Cmd.Id, $rc)
    Send-Ack $Cmd 'rejected' ('power-off failed: exit {0}' -f $rc)
    return
  }
  $script:PowerOffAt = [DateTimeOffset]::UtcNow.ToUnixTimeSeconds() + $Cmd.DelaySec
  $script:PowerOffId = $Cmd.Id
  $script:PowerOffReason = $reason
  Write-Log ('POWER-OFF scheduled in {0} s (command {1})' -f $Cmd.DelaySec, $Cmd.Id)
}

function Invoke-Abort($Cmd) {
  if ($DryRun -or $Cmd.DryRun) {
    Write-Log ('DRY RUN: command {0}: would cancel the power-off (reason: {1})' -f $Cmd.Id, (Get-Clean $Cmd.Reason))
    Send-Ack $Cmd 'aborted' 'dry run: nothing cancelled'
    return
  }
  $script:PowerOffAt = 0L
  Set-ActionEnv $Cmd 'abort'
  if ($Method -eq 'shutdown-exe') {
    $rc = Start-Program 'shutdown.exe' '/a' 30
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

function Receive-Command([string] $Payload) {
  $now = [DateTimeOffset]::UtcNow.ToUnixTimeSeconds()
  try {
    $cmd = ConvertTo-Command $Payload
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
  $old = Get-AgeProblem $cmd $now
  if ($null -ne $old) { Send-Reject $cmd $old; return }
  if (@('shutdown', 'abort', 'test') -cnotcontains $cmd.Action) { Send-Reject $cmd 'unknown action'; return }
  if ($Seen.ContainsKey($cmd.Id)) { Send-Reject $cmd 'replayed command id: already handled'; return }
  $Seen[$cmd.Id] = @{ issued_at = $cmd.IssuedAt; ttl_sec = $cmd.TtlSec }
  Save-Seen $Seen $now

  switch -CaseSensitive ($cmd.Action) {
    'test' { Write-Log ('TEST command {0}: ok' -f $cmd.Id); Send-Ack $cmd 'tested' ('test received by {0}' -f $HostName) }
    'shutdown' { Invoke-Shutdown $cmd }
    'abort' { Invoke-Abort $cmd }
  }
}

# One line of mosquitto_sub -F '%t %x': the topic (ours have no spaces), a
# space, the payload in hex. Hex keeps a payload with line breaks on one line.
function Receive-Line([string] $Line) {
  $sp = $Line.IndexOf(' ')
  if ($sp -lt 1) { return }
  $topic = $Line.Substring(0, $sp)
  if ($topic -ne $CmdTopic -and $topic -ne $StatusTopic) { return }
  $hex = $Line.Substring($sp + 1).Trim()
  try {
    $payload = $StrictUtf8.GetString((ConvertFrom-HexText $hex))
  } catch {
    if ($topic -eq $CmdTopic) { Send-Reject $null 'command: not JSON: not UTF-8 text' }
    return
  }
  if ($topic -eq $CmdTopic) { Receive-Command $payload }
  elseif ($payload -like '*"offline"*') {
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
      try { $proc.Kill() } catch { }
    }
  }
}

# without a console (it has one under Task Scheduler) this can throw
try { [Console]::OutputEncoding = $Utf8NoBom } catch { }
$backoff = 1
while ($true) {
  $started = Get-Date
  $sub = $null
  try {
    # persistent session (-c, stable client id), QoS 1: commands sent while we
    # are away wait on the broker; the will (in mosquitto_sub.conf) marks us
    # offline if we die. -F '%t %x': one line per message, payload in hex.
    $subArgs = $ConnArgs + @('-q', '1', '-c', '-i', ('ecoflow-power-agent-' + $AgentId),
                             '-t', $CmdTopic, '-t', $StatusTopic, '-F', '%t %x')
    $psi = New-ClientStartInfo $SubExe $subArgs
    $psi.RedirectStandardOutput = $true
    $psi.StandardOutputEncoding = $Utf8NoBom
    $sub = [Diagnostics.Process]::Start($psi)
    [IO.File]::WriteAllText($SubPidFile, $sub.Id.ToString($Invariant))
    Send-Status 'online'
    while ($null -ne ($line = $sub.StandardOutput.ReadLine())) {
      try { Receive-Line $line } catch { Write-Log ('error handling a message: {0}' -f $_.Exception.Message) }
    }
    $sub.WaitForExit()
    $what = 'mosquitto_sub exited (exit {0})' -f $sub.ExitCode
  } catch {
    $what = 'mosquitto_sub failed: {0}' -f $_.Exception.Message
  } finally {
    if ($null -ne $sub) {
      try { if (-not $sub.HasExited) { $sub.Kill() } } catch { }
      $sub.Dispose()
    }
  }
  # mosquitto_sub reconnects by itself; it only exits on a hard error (the
  # first connection failed, refused credentials): retry with backoff, 1 s
  # doubling to 30 s, back to 1 s after a run of more than a minute
  if (((Get-Date) - $started).TotalSeconds -gt 60) { $backoff = 1 }
  Write-Log ('{0}; retrying in {1} s' -f $what, $backoff)
  Start-Sleep -Seconds $backoff
  $backoff = [Math]::Min($backoff * 2, 30)
}
