<#
.SYNOPSIS
Benchmark step W4: Get-FemagJob over every module bucket and instance of the region; prints one SUMMARY line for run.py.
#>
param(
    [Parameter(Mandatory)] [string] $ConfigFile,
    [Parameter(Mandatory)] [string] $EndpointUrl
)

$ErrorActionPreference = 'Stop'
Import-Module (Join-Path $PSScriptRoot '..' 'out' 'FemagAws' 'FemagAws.psd1')

$jobs = @(Get-FemagJob -ConfigFile $ConfigFile -EndpointUrl $EndpointUrl)
$states = ($jobs | Group-Object State | Sort-Object Name | ForEach-Object { "$($_.Name)=$($_.Count)" }) -join ' '
"SUMMARY jobs=$($jobs.Count) $states"
