<#
.SYNOPSIS
Benchmark step: the whole pipeline for every subfolder of -Parent; prints one SUMMARY line for run.py.
#>
param(
    [Parameter(Mandatory)] [string] $Parent,
    [Parameter(Mandatory)] [string] $ConfigFile,
    [Parameter(Mandatory)] [string] $EndpointUrl,
    # W6: where Export-FemagReport writes the run's report, and the On-Demand prices ('t2.small=0.0268,...') Wait-FemagJob costs with.
    [string] $ReportPath,
    [string] $PricePerHour
)

$ErrorActionPreference = 'Stop'
Import-Module (Join-Path $PSScriptRoot '..' 'out' 'FemagAws' 'FemagAws.psd1')

$prices = @{}
foreach ($pair in $PricePerHour -split ',' -ne '') {
    $type, $usd = $pair -split '='
    $prices[$type] = [double]$usd
}
$jobs = @(Get-ChildItem -LiteralPath $Parent -Directory | Sort-Object Name |
    New-FemagBucket -ConfigFile $ConfigFile -EndpointUrl $EndpointUrl |
    Start-FemagInstance |
    Wait-FemagJob -PollInterval 2 -SettleTime 2 -Timeout 1800 -PricePerHour $prices -InformationVariable information |
    Receive-FemagResult)

$succeeded = @($jobs | Where-Object State -eq Succeeded).Count
foreach ($job in $jobs | Where-Object State -ne Succeeded) {
    "job $($job.Index): $($job.State) $($job.Reason)"
}
"SUMMARY jobs=$($jobs.Count) succeeded=$succeeded"
# What the module says the run billed: its summary line and the sum of the jobs' billed seconds and costs.
"TOTALS $(@($information | Where-Object Tags -contains 'FemagAws.Summary')[-1])"
"BILLED seconds=$(($jobs | Measure-Object BilledSeconds -Sum).Sum) cost=$(($jobs | Where-Object Cost -ne $null | Measure-Object Cost -Sum).Sum)"
if ($ReportPath) {
    $jobs | Export-FemagReport -Path $ReportPath -Title (Split-Path -Leaf $Parent) -Force
}
