# A folder run again after its results came back, as engineers do after changing the model.

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestCloud.psm1') -Force
    $script:Cloud = Start-TestCloud
}

AfterAll {
    Stop-CloudInstance $script:Cloud
    Stop-TestCloud $script:Cloud
}

Describe 'A rerun folder' {
    It "reports FEMAG's new exit code, not the one the last run left in the folder" {
        $ws = New-TestWorkspace $Cloud -Fsl '-- model 0'
        Copy-Item (Join-Path (Get-RepoRoot) 'examples/cloud_init_recommended.txt') (Join-Path $ws 'cloud_init.txt') -Force
        $run = Invoke-FreshPwsh -WorkingDirectory $ws.FullName -Script @'
$ErrorActionPreference = 'Stop'
function Invoke-Run { Get-ChildItem parvar -Directory | New-FemagBucket -ConfigFile config.ini | Start-FemagInstance | Wait-FemagJob -PollInterval 0.2 -SettleTime 1 | Receive-FemagResult }
Invoke-Run | ForEach-Object { "FIRST $($_.State) $($_.ExitCode)" }
"FOLDER " + (Get-Content parvar/0/exit_code)
# The model changed: FEMAG now fails, and writes a result large enough that the script's sync takes a while.
Set-Content parvar/0/femag.fsl "-- model 0`n-- fake-femag: exit 3`n-- fake-femag: result-mb 20"
Invoke-Run | ForEach-Object { "AGAIN $($_.State) $($_.ExitCode)" }
'@
        $run.ExitCode | Should -Be 0 -Because $run.Text
        $run.Output | Should -Contain 'FIRST Succeeded 0'
        $run.Output | Should -Contain 'FOLDER 0'
        $run.Output | Should -Contain 'AGAIN Failed 3'
        Get-Content (Join-Path $ws 'parvar/0/exit_code') | Should -Be '3'
    }
}
