<#
.SYNOPSIS
Benchmark step: Receive-FemagResult -Force for the jobs upload.ps1 saved, into -Destination/<index>.
#>
param(
    [Parameter(Mandatory)] [string] $JobsFile,
    [Parameter(Mandatory)] [string] $Destination
)

$ErrorActionPreference = 'Stop'
Import-Module (Join-Path $PSScriptRoot '..' 'out' 'FemagAws' 'FemagAws.psd1')

# The jobs carry their endpoint; the module's type converter turns the deserialized objects back into FemagJob.
$jobs = Import-Clixml -LiteralPath $JobsFile
$received = @($jobs | Receive-FemagResult -Force -Destination $Destination)
"received $($received.Count) jobs"
