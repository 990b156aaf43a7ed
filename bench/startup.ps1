<#
.SYNOPSIS
Benchmark reference: the fixed cost of a FemagAws step (pwsh start, PowerShell engine, module, SDK clients) with
Get-FemagBucket's listing (run.py has removed every bucket before): ListBuckets, and since the listing shows each
bucket's state, one DescribeInstances; the baseline makes only the ListBuckets.
#>
param(
    [Parameter(Mandatory)] [string] $ConfigFile,
    [Parameter(Mandatory)] [string] $EndpointUrl
)

$ErrorActionPreference = 'Stop'
Import-Module (Join-Path $PSScriptRoot '..' 'out' 'FemagAws' 'FemagAws.psd1')
Get-FemagBucket -ConfigFile $ConfigFile -EndpointUrl $EndpointUrl | Out-Null
