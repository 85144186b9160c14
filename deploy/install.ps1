# Installs (or upgrades, or removes) the Canh agent on Windows as the service CanhAgent.
# Run in an elevated PowerShell, next to canh-agent-win-x64.exe (or pass -Binary):
#   .\install.ps1 -Url wss://collector.example.gov.vn/v1/agent -TokenFile .\agent.token
#   $env:CANH_AGENT_TOKEN = '...'; .\install.ps1 -Url wss://...
#   .\install.ps1                       # upgrade: new executable, config and state kept
#   .\install.ps1 -Uninstall [-Purge]
# Files: C:\Program Files\Canh\canh-agent.exe and canh-agent-service.exe (the service
# wrapper, compiled here from windows\CanhAgentService.cs with the .NET Framework 4 C#
# compiler that every Windows has), C:\ProgramData\Canh\agent.yaml, agent.token, state\
# and logs\canh-agent.log. Config and token are readable by SYSTEM and Administrators only.
# Not run on Windows by the project's tests (no Windows machine there): see
# docs/operating/install-windows.md for what is and is not tested.
[CmdletBinding()]
param(
  [string]$Url,
  [string]$TokenFile,
  [string]$Binary,
  [switch]$Uninstall,
  [switch]$Purge,
  [switch]$NoStart
)
$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest

$principal = New-Object Security.Principal.WindowsPrincipal([Security.Principal.WindowsIdentity]::GetCurrent())
if (-not $principal.IsInRole([Security.Principal.WindowsBuiltInRole]::Administrator)) {
  throw 'install.ps1: run this in an elevated PowerShell (Run as Administrator)'
}

$InstallDir = Join-Path $env:ProgramFiles 'Canh'
$DataDir = Join-Path $env:ProgramData 'Canh'
$Exe = Join-Path $InstallDir 'canh-agent.exe'
$Wrapper = Join-Path $InstallDir 'canh-agent-service.exe'
$Config = Join-Path $DataDir 'agent.yaml'
$Token = Join-Path $DataDir 'agent.token'
$StateDir = Join-Path $DataDir 'state'
$Here = Split-Path -Parent $MyInvocation.MyCommand.Path

function Invoke-Agent([string[]]$Arguments) {
  & $Exe @Arguments
  if ($LASTEXITCODE -ne 0) { throw "install.ps1: canh-agent $($Arguments -join ' ') failed with exit code $LASTEXITCODE" }
}

# Only SYSTEM (the service) and Administrators may read the config and the token.
function Protect-File([string]$Path) {
  & icacls.exe $Path /inheritance:r /grant:r 'SYSTEM:(F)' 'Administrators:(F)' | Out-Null
  if ($LASTEXITCODE -ne 0) { throw "install.ps1: icacls could not restrict $Path" }
}

if ($Uninstall) {
  if (Test-Path $Exe) {
    $a = @('service', 'uninstall', '--config', $Config)
    if ($Purge) { $a += '--purge' }
    Invoke-Agent $a
  }
  Remove-Item -Force -ErrorAction SilentlyContinue $Exe, $Wrapper
  if ($Purge) {
    Remove-Item -Recurse -Force -ErrorAction SilentlyContinue $DataDir
    Write-Output 'install.ps1: removed canh-agent, its config, token, state and logs'
  } else {
    Write-Output "install.ps1: removed canh-agent; kept $Config, $Token and $StateDir (-Purge removes them)"
  }
  exit 0
}

if (-not $Binary) {
  foreach ($c in @((Join-Path $Here 'canh-agent-win-x64.exe'), (Join-Path $Here 'canh-agent.exe'))) {
    if (Test-Path $c) { $Binary = $c; break }
  }
  if (-not $Binary) { throw 'install.ps1: no canh-agent-win-x64.exe next to install.ps1; pass -Binary PATH' }
}
$Source = Join-Path $Here 'windows\CanhAgentService.cs'
if (-not (Test-Path $Source)) { $Source = Join-Path $Here 'CanhAgentService.cs' }
if (-not (Test-Path $Source)) { throw 'install.ps1: CanhAgentService.cs (the service wrapper source) is missing next to install.ps1' }

$TokenValue = $null
if ($TokenFile) { $TokenValue = (Get-Content -Raw -Path $TokenFile).Trim() }
elseif ($env:CANH_AGENT_TOKEN) { $TokenValue = $env:CANH_AGENT_TOKEN.Trim() }

$Upgrade = Test-Path $Config
if (-not $Upgrade) {
  if (-not $Url) { throw 'install.ps1: first install: -Url wss://<collector>/v1/agent is required' }
  if (-not $TokenValue) { throw 'install.ps1: first install: a token is required (-TokenFile F, or $env:CANH_AGENT_TOKEN)' }
}
if ($Url -and ($Url -notmatch '^wss?://[^\s"''\\]+$')) { throw 'install.ps1: -Url must start with wss:// and contain no quotes, backslashes or spaces' }

New-Item -ItemType Directory -Force -Path $InstallDir, $DataDir, $StateDir, (Join-Path $DataDir 'logs') | Out-Null

# An upgrade replaces files the running service holds open: stop it first.
if (Get-Service -Name CanhAgent -ErrorAction SilentlyContinue) { Stop-Service -Name CanhAgent -Force -ErrorAction SilentlyContinue }
Copy-Item -Force -Path $Binary -Destination $Exe

$Csc = Join-Path $env:WINDIR 'Microsoft.NET\Framework64\v4.0.30319\csc.exe'
if (-not (Test-Path $Csc)) { $Csc = Join-Path $env:WINDIR 'Microsoft.NET\Framework\v4.0.30319\csc.exe' }
if (-not (Test-Path $Csc)) { throw 'install.ps1: the .NET Framework 4 C# compiler (csc.exe) is missing; install .NET Framework 4.x' }
& $Csc /nologo /target:exe "/out:$Wrapper" /reference:System.ServiceProcess.dll $Source
if ($LASTEXITCODE -ne 0) { throw 'install.ps1: compiling the service wrapper failed' }

if ($TokenValue) {
  Set-Content -NoNewline -Encoding ascii -Path $Token -Value $TokenValue
  Protect-File $Token
}
if (-not $Upgrade) {
  $Date = (Get-Date).ToUniversalTime().ToString('yyyy-MM-dd')
  # YAML single quotes: Windows backslashes stay as they are.
  $Yaml = @"
# Canh agent, written by install.ps1 on $Date. Every option, with its default:
# docs/operating/config-reference.md. Check changes with:
#   & '$Exe' --validate --config '$Config'
collector:
  url: '$Url'
  token_file: '$Token'
agent:
  state_dir: '$StateDir'
# No "inputs:" list: the default host inputs of Windows run (cpu, mem, swap, disk,
# diskio, net, system, processes), read from performance counters by one typeperf.
"@
  Set-Content -Encoding utf8 -Path $Config -Value $Yaml
  Protect-File $Config
} else {
  Write-Output "install.ps1: upgrade: kept $Config and the state in $StateDir"
}

Invoke-Agent @('--validate', '--config', $Config)
$a = @('service', 'install', '--config', $Config, '--binary', $Exe)
if ($NoStart) { $a += '--no-start' }
Invoke-Agent $a
Write-Output "install.ps1: canh-agent installed; status: & '$Exe' service status; log: $(Join-Path $DataDir 'logs\canh-agent.log')"
