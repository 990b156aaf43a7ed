<#
.SYNOPSIS
Runs the example parameter variation through the whole FemagAws pipeline and prints the job table.

.DESCRIPTION
Works in pwsh, in Windows PowerShell 5.1 and in tools/FemagAws.ScriptHost (which has only PowerShell's core
cmdlets, hence [IO.Directory] instead of Get-ChildItem). examples/run-local.sh runs it against a local cloud.
#>
param(
    [string] $Parvar = [IO.Path]::Combine($PSScriptRoot, 'parvar'),
    [string] $ConfigFile = [IO.Path]::Combine($PSScriptRoot, 'config.ini'),
    [string] $EndpointUrl
)

$ErrorActionPreference = 'Stop'
Import-Module ([IO.Path]::Combine($PSScriptRoot, '..', 'out', 'FemagAws', 'FemagAws.psd1'))

$endpoint = @{}
if ($EndpointUrl) { $endpoint.EndpointUrl = $EndpointUrl }

# Like 'Get-ChildItem $Parvar -Directory', which the core-only host lacks; sorted so index = folder order.
$paths = [IO.Directory]::GetDirectories($Parvar)
[Array]::Sort($paths, [StringComparer]::Ordinal)
$folders = [IO.DirectoryInfo[]]$paths
$jobs = $folders | New-FemagBucket -ConfigFile $ConfigFile @endpoint |
    Start-FemagInstance |
    Wait-FemagJob -PollInterval 1 -SettleTime 2 -Timeout 600 |
    Receive-FemagResult

# Jobs arrive in the order they finish; show them by index.
$jobs = foreach ($i in 0..($folders.Count - 1)) { $jobs | Where-Object Index -eq $i }
$jobs

foreach ($job in $jobs) {
    "Job $($job.Index) results in $($job.Folder): " + (([IO.Directory]::GetFiles($job.Folder) | ForEach-Object { [IO.Path]::GetFileName($_) }) -join ', ')
}
