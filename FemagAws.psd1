@{
    RootModule           = 'FemagAws.dll'
    ModuleVersion        = '{{ModuleVersion}}'
    GUID                 = '5f0c7b8e-3d1a-4f7e-9a52-6c2b1e8d4a90'
    Author               = 'FemagAws contributors'
    CompanyName          = 'FemagAws'
    Copyright            = '(c) FemagAws contributors. All rights reserved.'
    Description          = 'Runs FEMAG finite-element calculations on Amazon EC2: one S3 bucket and one instance per calculation folder, driven from a PowerShell pipeline.'
    PowerShellVersion    = '5.1'
    CompatiblePSEditions = @('Desktop', 'Core')
    DotNetFrameworkVersion = '4.7.2'
    TypesToProcess       = @('FemagAws.types.ps1xml')
    FormatsToProcess     = @('FemagAws.format.ps1xml')
    CmdletsToExport      = @(
        'Import-FemagConfig'
        'New-FemagBucket'
        'Get-FemagBucket'
        'Start-FemagInstance'
        'Wait-FemagJob'
        'Receive-FemagResult'
        'Get-FemagJob'
        'Stop-FemagInstance'
        'Get-FemagJobLog'
        'Remove-FemagBucket'
        'Export-FemagReport'
    )
    FunctionsToExport    = @()
    AliasesToExport      = @()
    VariablesToExport    = @()
    PrivateData          = @{
        PSData = @{
            Tags       = @('FEMAG', 'AWS', 'EC2', 'S3', 'FEM', 'PSEdition_Desktop', 'PSEdition_Core', 'Windows', 'Linux')
        }
    }
}
