# install.ps1: install the ecoflow-power agent as a SYSTEM task that starts at boot.
# Run in an elevated PowerShell:  powershell -ExecutionPolicy Bypass -File .\install.ps1
#Requires -RunAsAdministrator
param(
  [string] $TaskName = 'EcoflowPowerAgent'
)
$ErrorActionPreference = 'Stop'

$ProgramDir = Join-Path $env:ProgramFiles 'EcoflowPower'
$DataDir = Join-Path $env:ProgramData 'EcoflowPower'
$Script = Join-Path $ProgramDir 'ecoflow-power-agent.ps1'
$Config = Join-Path $DataDir 'agent.conf'

New-Item -ItemType Directory -Force -Path $ProgramDir, $DataDir, (Join-Path $DataDir 'agent.d') | Out-Null
Copy-Item -LiteralPath (Join-Path $PSScriptRoot 'ecoflow-power-agent.ps1') -Destination $Script -Force

# The HMAC code against the signature vectors, in the same Windows PowerShell
# the task will use: a failure here would refuse every signed command later.
& powershell.exe -NoProfile -NonInteractive -ExecutionPolicy Bypass -File $Script -SelfTest
if ($LASTEXITCODE -ne 0) { throw "$Script -SelfTest failed (exit $LASTEXITCODE): the agent would not verify commands correctly here" }

if (-not (Test-Path -LiteralPath $Config)) {
  Copy-Item -LiteralPath (Join-Path $PSScriptRoot 'agent.conf.example') -Destination $Config
  Write-Host "Created ${Config}: edit id, host and key-file before starting the task."
}

# Only SYSTEM (S-1-5-18) and Administrators (S-1-5-32-544) may read the key,
# the MQTT password and the hooks, or change them. SIDs, not names: the names
# are translated on non-English Windows.
& icacls.exe $DataDir /inheritance:r /grant:r '*S-1-5-18:(OI)(CI)F' '*S-1-5-32-544:(OI)(CI)F' | Out-Null
if ($LASTEXITCODE -ne 0) { throw "icacls failed on $DataDir" }

$argLine = '-NoProfile -NonInteractive -ExecutionPolicy Bypass -File "{0}" -Config "{1}"' -f $Script, $Config
$action = New-ScheduledTaskAction -Execute 'powershell.exe' -Argument $argLine
$trigger = New-ScheduledTaskTrigger -AtStartup
$principal = New-ScheduledTaskPrincipal -UserId 'SYSTEM' -LogonType ServiceAccount -RunLevel Highest
# On a UPS-like battery the task must keep running: that is the whole point.
$settings = New-ScheduledTaskSettingsSet -AllowStartIfOnBatteries -DontStopIfGoingOnBatteries `
  -StartWhenAvailable -MultipleInstances IgnoreNew -ExecutionTimeLimit ([TimeSpan]::Zero) `
  -RestartCount 999 -RestartInterval (New-TimeSpan -Minutes 1)
Register-ScheduledTask -TaskName $TaskName -Action $action -Trigger $trigger -Principal $principal `
  -Settings $settings -Description 'ecoflow-power host agent: powers this PC off on signed commands' -Force | Out-Null
Write-Host "Registered task $TaskName. Start it now with: Start-ScheduledTask -TaskName $TaskName"
Write-Host "Log: $(Join-Path $DataDir 'agent.log')"
