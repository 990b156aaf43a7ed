<#
.SYNOPSIS
Benchmark step: the whole pipeline for every subfolder of -Parent; prints one SUMMARY line for run.py.
#>
param(
    [Parameter(Mandatory)] [string] $Parent,
    [Parameter(Mandatory)] [string] $ConfigFile,
    [Parameter(Mandatory)] [string] $EndpointUrl
)

$ErrorActionPreference = 'Stop'
Import-Module (Join-Path $PSScriptRoot '..' 'out' 'FemagAws' 'FemagAws.psd1')

$jobs = @(Get-ChildItem -LiteralPath $Parent -Directory | Sort-Object Name |
    New-FemagBucket -ConfigFile $ConfigFile -EndpointUrl $EndpointUrl |
    Start-FemagInstance |
    Wait-FemagJob -PollInterval 2 -SettleTime 2 -Timeout 1800 |
    Receive-FemagResult)

$succeeded = @($jobs | Where-Object State -eq Succeeded).Count
foreach ($job in $jobs | Where-Object State -ne Succeeded) {
    "job $($job.Index): $($job.State) $($job.Reason)"
}
"SUMMARY jobs=$($jobs.Count) succeeded=$succeeded"
