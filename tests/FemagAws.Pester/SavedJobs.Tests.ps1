# Jobs saved with Export-Clixml stay usable: their state filters and prints by name, and the views apply.
# Also the job table at pwsh's default 80 columns.

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestCloud.psm1') -Force
    $script:Cloud = Start-TestCloud
    # One job succeeds, one fails with FEMAG's exit code 3, and one fails without any (its instance halts).
    $script:Ws = New-TestWorkspace $Cloud -DeleteBuckets 0 -Fsl '-- model 0', "-- model 1`n-- fake-femag: exit 3", "-- model 2`n-- fake-femag: halt"
    $script:JobsFile = Join-Path $Ws 'done.xml'
    $run = Invoke-FreshPwsh -WorkingDirectory $Ws.FullName -ArgumentList $JobsFile -Script @'
param($JobsFile)
Get-ChildItem parvar -Directory | New-FemagBucket -ConfigFile config.ini | Start-FemagInstance |
    Wait-FemagJob -PollInterval 1 -SettleTime 1 | Export-Clixml $JobsFile
'@
    if ($run.ExitCode -ne 0 -or -not (Test-Path $JobsFile)) { throw "The jobs could not be made: $($run.Text)" }
}

AfterAll {
    Stop-CloudInstance $script:Cloud
    Stop-TestCloud $script:Cloud
}

Describe 'Jobs read back with Import-Clixml' {
    It 'filter and print their state by name without the module imported' {
        $run = Invoke-FreshPwsh -ArgumentList $JobsFile -Script @'
param($JobsFile)
$jobs = Import-Clixml $JobsFile
"FAILED " + ((@($jobs | Where-Object State -eq Failed) | Sort-Object Index | ForEach-Object Index) -join ',')
"SUCCEEDED " + ((@($jobs | Where-Object State -eq 'Succeeded') | ForEach-Object Index) -join ',')
foreach ($job in $jobs | Sort-Object Index) { "STATE $($job.Index) $($job.State)" }
"MODULE " + [bool](Get-Module FemagAws)
'@
        $run.ExitCode | Should -Be 0 -Because $run.Text
        $run.Output | Should -Contain 'FAILED 1,2'
        $run.Output | Should -Contain 'SUCCEEDED 0'
        $run.Output | Should -Contain 'STATE 0 Succeeded'
        $run.Output | Should -Contain 'STATE 2 Failed'
        $run.Output | Should -Contain 'MODULE False'
    }

    It 'filter by state, show the job table and go on down the pipeline with the module imported' {
        $run = Invoke-FreshPwsh -ArgumentList $JobsFile -Script @'
param($JobsFile)
Import-Module FemagAws
$jobs = Import-Clixml $JobsFile
"FAILED " + ((@($jobs | Where-Object State -eq Failed) | Sort-Object Index | ForEach-Object Index) -join ',')
"STATE $(($jobs | Where-Object Index -eq 1).State)"
$jobs | Sort-Object Index | Format-Table | Out-String -Width 80
# Typed again where a cmdlet takes them: the failed ones are received into their folders.
$jobs | Where-Object State -eq Failed | Receive-FemagResult | ForEach-Object { "RECEIVED $($_.Index) $($_.State) $($_.ExitCode)" }
'@
        $run.ExitCode | Should -Be 0 -Because $run.Text
        $run.Output | Should -Contain 'FAILED 1,2'
        $run.Output | Should -Contain 'STATE Failed'
        $run.Text | Should -Match '(?m)^Index +State +Exit +Folder +Reason'
        $run.Text | Should -Match '(?m)^ +1 Failed +3 1 '
        $run.Output | Should -Contain 'RECEIVED 1 Failed 3'
        Join-Path $Ws 'parvar/1/exit_code' | Should -Exist
    }
}

Describe 'The job table at 80 columns' {
    It 'shows which job is which, its state, exit code and the whole reason wrapped at spaces; the list view has the rest' {
        $run = Invoke-FreshPwsh -ArgumentList $JobsFile -Script @'
param($JobsFile)
Import-Module FemagAws
$jobs = Import-Clixml $JobsFile | Sort-Object Index
'TABLE'
$jobs | Out-String -Width 80
'LIST'
$jobs[2] | Format-List | Out-String -Width 80
'@
        $run.ExitCode | Should -Be 0 -Because $run.Text
        $table = ($run.Text -split 'LIST')[0]
        $list = ($run.Text -split 'LIST')[1]
        foreach ($line in $table -split "`n") { $line.Length | Should -BeLessOrEqual 80 -Because $line }
        $table | Should -Match '(?m)^ +0 Succeeded +0 0 '
        $table | Should -Match '(?m)^ +1 Failed +3 1 '
        $table | Should -Match '(?m)^ +2 Failed +2 '
        # The reasons are there in full, wrapped within their column: each row's reason lines hold the reason's text in
        # order. (A reason of a job that ended without exit_code ends with its log's last lines, whose words, such as
        # s3:// addresses, may be longer than the column; Format-Table breaks those.)
        $reasons = @{}
        $index = $null
        foreach ($line in $table -split "`n" | Where-Object { $_.Length -gt 38 }) {
            if ($line -match '^ +(\d+) ') { $index = [int]$Matches[1]; $reasons[$index] = @() }
            elseif ($line.Substring(0, 38).Trim() -ne '') { continue }
            if ($null -ne $index) { $reasons[$index] += $line.Substring(38).Trim() }
        }
        foreach ($job in Import-Clixml $JobsFile | Where-Object State -eq Failed) {
            $job.Reason | Should -Not -BeNullOrEmpty
            ($reasons[$job.Index] -join '') -replace '\s' | Should -Be ($job.Reason -replace '\s') -Because "the table holds '$($job.Reason)':`n$table"
        }
        foreach ($name in 'BucketName', 'InstanceId', 'Folder', 'Region', 'Reason') {
            $list | Should -Match "(?m)^$name +: \S"
        }
        # Age in whole seconds, not ticks.
        $list | Should -Match '(?m)^Age +: \d\d:\d\d:\d\d\r?$'
        $list | Should -Not -Match '(?m)^Age +: \S*\.\d'

    }
}

Describe 'Receiving a saved job again' {
    It 'leaves out its input archive and the unchanged inputs, says so with -Verbose, and -IncludeUnchanged fetches them' {
        $run = Invoke-FreshPwsh -ArgumentList $JobsFile -Script @'
param($JobsFile)
Import-Module FemagAws
$job = Import-Clixml $JobsFile | Where-Object Index -eq 0
$job | Receive-FemagResult -Verbose 4>&1 | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] } | ForEach-Object { "VERBOSE $_" }
"ARCHIVE " + (Test-Path (Join-Path $job.Folder '0.tar.gz'))
"RESULT " + (Get-Content -Raw (Join-Path $job.Folder 'exit_code')).Trim()
$job | Receive-FemagResult -Verbose -IncludeUnchanged 4>&1 | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] } | ForEach-Object { "VERBOSE ALL $_" }
"ARCHIVE " + (Test-Path (Join-Path $job.Folder '0.tar.gz'))
'@
        $run.ExitCode | Should -Be 0 -Because $run.Text
        # exit_code and femag.log are new; femag.fsl came back as it went up, and the archive is the job's own input.
        $run.Output | Should -Contain 'ARCHIVE False'
        $run.Output | Should -Contain 'RESULT 0'
        $run.Output -match '^VERBOSE Job 0: \d+ file\(s\), \d+ bytes received; 2 unchanged object\(s\), \d+ bytes skipped\.$' | Should -HaveCount 1 -Because $run.Text
        # -IncludeUnchanged downloads them too.
        $run.Output -match '^VERBOSE ALL Job 0: \d+ file\(s\), \d+ bytes received; 0 unchanged object\(s\), 0 bytes skipped\.$' | Should -HaveCount 1 -Because $run.Text
        $run.Output[-1] | Should -Be 'ARCHIVE True'
    }
}
