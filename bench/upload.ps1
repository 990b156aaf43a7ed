<#
.SYNOPSIS
Benchmark step: New-FemagBucket for every subfolder of -Parent (index = the folders in name order).

.DESCRIPTION
With -JobsFile the jobs are saved with Export-Clixml for a later step (receive.ps1); otherwise they are
discarded as they stream out.
#>
param(
    [Parameter(Mandatory)] [string] $Parent,
    [Parameter(Mandatory)] [string] $ConfigFile,
    [Parameter(Mandatory)] [string] $EndpointUrl,
    [string] $JobsFile
)

$ErrorActionPreference = 'Stop'
Import-Module (Join-Path $PSScriptRoot '..' 'out' 'FemagAws' 'FemagAws.psd1')

$folders = Get-ChildItem -LiteralPath $Parent -Directory | Sort-Object Name
if ($JobsFile) {
    $jobs = @($folders | New-FemagBucket -ConfigFile $ConfigFile -EndpointUrl $EndpointUrl)
    $jobs | Export-Clixml -LiteralPath $JobsFile
    "uploaded $($jobs.Count) folders"
}
else {
    $folders | New-FemagBucket -ConfigFile $ConfigFile -EndpointUrl $EndpointUrl | Out-Null
    "uploaded $($folders.Count) folders"
}
