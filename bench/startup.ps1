<#
.SYNOPSIS
Benchmark reference: the fixed cost of a FemagAws step (pwsh start, PowerShell engine, module, SDK client) with one
request, Get-FemagBucket's ListBuckets (run.py has removed every bucket before).
#>
param(
    [Parameter(Mandatory)] [string] $ConfigFile,
    [Parameter(Mandatory)] [string] $EndpointUrl
)

$ErrorActionPreference = 'Stop'
Import-Module (Join-Path $PSScriptRoot '..' 'out' 'FemagAws' 'FemagAws.psd1')
Get-FemagBucket -ConfigFile $ConfigFile -EndpointUrl $EndpointUrl | Out-Null
