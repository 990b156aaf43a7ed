<#
.SYNOPSIS
Runs the example parameter variation (examples/parvar) through the whole FemagAws pipeline against a local cloud.

.DESCRIPTION
The README's main job: dotnet pwsh ./examples/run-local.ps1
Builds the module (Release), starts a local cloud (tools/localcloud: moto plays S3 and EC2, the instance runner runs
the seed cloud-init script with a fake xfemag), runs

    Get-ChildItem parvar -Directory | New-FemagBucket -ConfigFile config.ini |
        Start-FemagInstance | Wait-FemagJob -PollInterval 1 -SettleTime 2 | Receive-FemagResult

on a copy of examples/parvar (Wait-FemagJob with test-sized waits: its defaults, a poll every 20 s and 30 s for the
bucket to hold still after the seed script's early exit_code, make the same run take about 70 s), prints the job table and stops the cloud. Needs no AWS account. The results stay in
the copy, whose path it prints.
#>
[CmdletBinding()]
param(
    # Skips the build, for a module already built with 'dotnet build FemagAws.sln -c Release'.
    [switch] $NoBuild
)

$ErrorActionPreference = 'Stop'
$repo = Split-Path -Parent $PSScriptRoot

if (-not $NoBuild) {
    dotnet build (Join-Path $repo 'FemagAws.sln') -c Release --nologo -v quiet -clp:ErrorsOnly
    if ($LASTEXITCODE) { throw "dotnet build failed ($LASTEXITCODE)." }
}
Import-Module (Join-Path $repo 'out/FemagAws/FemagAws.psd1')
Import-Module (Join-Path $repo 'tools/localcloud/LocalCloud.psm1')

# The local cloud takes any keys; the AWS SDK only needs some.
$env:AWS_ACCESS_KEY_ID = 'testing'
$env:AWS_SECRET_ACCESS_KEY = 'testing'
$env:AWS_EC2_METADATA_DISABLED = 'true'

# Results land in a copy, so the example stays clean.
$work = New-Item -ItemType Directory (Join-Path ([IO.Path]::GetTempPath()) ('femag-example-' + [guid]::NewGuid().ToString('N').Substring(0, 8)))
Copy-Item (Join-Path $PSScriptRoot 'parvar'), (Join-Path $PSScriptRoot 'config.ini'), (Join-Path $PSScriptRoot 'cloud_init.txt') $work -Recurse

# The port config.ini names (endpoint_url), or any free one, then given as -EndpointUrl.
$listener = [Net.Sockets.TcpListener]::new([Net.IPAddress]::Loopback, 4566)
try { $listener.Start(); $listener.Stop(); $port = 4566 } catch { $port = 0 }
$cloud = Start-LocalCloud -Port $port
try {
    Write-Host "Local cloud at $($cloud.Endpoint); results go to $work"
    Push-Location $work
    $endpoint = if ($port -eq 0) { @{ EndpointUrl = $cloud.Endpoint } } else { @{} }
    $jobs = Get-ChildItem parvar -Directory | New-FemagBucket -ConfigFile config.ini @endpoint |
        Start-FemagInstance | Wait-FemagJob -PollInterval 1 -SettleTime 2 -Timeout 600 | Receive-FemagResult

    # Jobs arrive in the order they finish; show them by index.
    $jobs | Sort-Object Index | Format-Table | Out-Host
    foreach ($job in $jobs | Sort-Object Index) {
        "Job $($job.Index) results in $($job.Folder): " + ((Get-ChildItem $job.Folder).Name -join ', ')
    }
}
finally {
    Pop-Location
    Stop-LocalCloud $cloud
}
