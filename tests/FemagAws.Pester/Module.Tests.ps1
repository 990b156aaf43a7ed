# The module as a user meets it in pwsh: installed from its package, errors, completion and help.

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestCloud.psm1') -Force
    $script:Cloud = Start-TestCloud
}

AfterAll {
    Stop-TestCloud $script:Cloud
}

Describe 'Installed from the package' {
    It 'installs with Install-PSResource from a folder repository, auto-loads on first use and uninstalls' {
        $home_ = New-TemporaryDirectory 'femag-home-'
        $repository = New-TemporaryDirectory 'femag-repo-'
        Copy-Item (Get-ChildItem (Join-Path (Get-RepoRoot) 'out') -Filter 'FemagAws.*.nupkg').FullName $repository
        # A clean user: the temporary HOME holds PSResourceGet's repositories and the CurrentUser modules.
        $environment = @{ HOME = $home_; PSModulePath = $null; XDG_DATA_HOME = $null; XDG_CONFIG_HOME = $null }
        try {
            $install = Invoke-FreshPwsh -Environment $environment -ArgumentList $repository -Script @'
param($Repository)
$ErrorActionPreference = 'Stop'
Register-PSResourceRepository -Name femag-local -Uri $Repository -Trusted
Install-PSResource FemagAws -Repository femag-local -Scope CurrentUser
(Get-InstalledPSResource FemagAws -Scope CurrentUser) | ForEach-Object { "INSTALLED $($_.Name) $($_.Version) $($_.InstalledLocation)" }
'@
            $install.ExitCode | Should -Be 0 -Because $install.Text
            $install.Text | Should -Match "INSTALLED FemagAws 0\.\d+\.\d+ $([regex]::Escape($home_))"

            $use = Invoke-FreshPwsh -Environment $environment -ArgumentList $Cloud.Endpoint -Script @'
param($Endpoint)
$ErrorActionPreference = 'Stop'
"BEFORE " + [bool](Get-Module FemagAws)
$jobs = @(Get-FemagJob -Region eu-central-1 -EndpointUrl $Endpoint)
"LISTED $($jobs.Count)"
"FROM " + (Get-Module FemagAws).ModuleBase
'@
            $use.ExitCode | Should -Be 0 -Because $use.Text
            $use.Output | Should -Contain 'BEFORE False'
            $use.Output | Should -Contain 'LISTED 0'
            ($use.Output | Where-Object { $_ -like 'FROM *' }) | Should -BeLike "FROM $home_*"

            $uninstall = Invoke-FreshPwsh -Environment $environment -Script @'
$ErrorActionPreference = 'Stop'
Uninstall-PSResource FemagAws -Scope CurrentUser
"LEFT " + [bool](Get-Command Get-FemagJob -ErrorAction SilentlyContinue)
'@
            $uninstall.ExitCode | Should -Be 0 -Because $uninstall.Text
            $uninstall.Output | Should -Contain 'LEFT False'
        }
        finally {
            Remove-Item -Recurse -Force $home_, $repository -ErrorAction Ignore
        }
    }
}

Describe 'Errors as users see them in $Error' {
    It 'names a missing config file' {
        $run = Invoke-FreshPwsh -Script @'
try { Get-Item $PWD | New-FemagBucket -ConfigFile ./no-such-config.ini } catch { }
$Error[0].FullyQualifiedErrorId
$Error[0].CategoryInfo.Category
$Error[0].CategoryInfo.TargetName
$Error[0].Exception.Message
'@
        $run.Output[0] | Should -Be 'FemagConfigNotFound,FemagAws.Commands.NewFemagBucketCommand'
        $run.Output[1] | Should -Be 'ObjectNotFound'
        $run.Output[2] | Should -BeLike '*no-such-config.ini'
        $run.Output[3] | Should -BeLike '*-ConfigFile*'
    }

    It 'gives a bad config value its file and line' {
        $folder = New-TemporaryDirectory
        Set-Content (Join-Path $folder 'config.ini') "[amazon]`nserver_location = Frankfurt"
        $run = Invoke-FreshPwsh -WorkingDirectory $folder -Script @'
Import-FemagConfig ./config.ini -ErrorAction SilentlyContinue
$Error[0].FullyQualifiedErrorId
$Error[0].CategoryInfo.Category
$Error[0].Exception.Message
'@
        $run.Output[0] | Should -Be 'FemagConfigInvalid,FemagAws.Commands.ImportFemagConfigCommand'
        $run.Output[1] | Should -Be 'ParserError'
        $run.Output[2] | Should -BeLike '*config.ini, line 2:*Frankfurt*'
    }

    It 'refuses an inline comment after a value and says how to write it' {
        $folder = New-TemporaryDirectory
        Set-Content (Join-Path $folder 'config.ini') "[amazon]`nserver_location = eu-central-1`nmax_runtime = 240    ; minutes"
        $run = Invoke-FreshPwsh -WorkingDirectory $folder -Script @'
Import-FemagConfig ./config.ini -ErrorAction SilentlyContinue
$Error[0].FullyQualifiedErrorId
$Error[0].Exception.Message
'@
        $run.Output[0] | Should -Be 'FemagConfigInvalid,FemagAws.Commands.ImportFemagConfigCommand'
        $run.Text | Should -Match 'config\.ini, line 3: .*inline comments are not supported'
        $run.Text | Should -Match 'line of its own'
    }

    It 'names a missing folder and goes on with the others' {
        $ws = New-TestWorkspace $Cloud -Fsl '-- model 0'
        $run = Invoke-FreshPwsh -WorkingDirectory $ws.FullName -Script @'
$jobs = 'parvar/0', 'parvar/9' | New-FemagBucket -ConfigFile config.ini -ErrorAction SilentlyContinue
"JOBS $(@($jobs).Count)"
$Error[0].FullyQualifiedErrorId
$Error[0].CategoryInfo.Category
$Error[0].Exception.Message
$jobs | Remove-FemagBucket -Force
'@
        $run.Output | Should -Contain 'JOBS 1'
        $run.Output | Should -Contain 'FemagFolderNotFound,FemagAws.Commands.NewFemagBucketCommand'
        $run.Output | Should -Contain 'ObjectNotFound'
        $run.Text | Should -Match "Folder '.*parvar/9' does not exist"
        Get-CloudBucket $Cloud | Should -BeNullOrEmpty
    }

    It 'refuses a folder without femag.fsl before its bucket is made, as an empty one, and goes on with the others' {
        $ws = New-TestWorkspace $Cloud -Fsl '-- model 0', '-- model 1', '-- model 2'
        Rename-Item (Join-Path $ws 'parvar/1/femag.fsl') 'model.fsl'
        $run = Invoke-FreshPwsh -WorkingDirectory $ws.FullName -Script @'
$jobs = Get-ChildItem parvar -Directory | New-FemagBucket -ConfigFile config.ini -ErrorVariable bad -ErrorAction SilentlyContinue
"JOBS $(($jobs.Index | Sort-Object) -join ',') BUCKETS $(@($jobs.BucketName | Sort-Object -Unique).Count)"
"ERRORS $($bad.Count)"
$bad[0].FullyQualifiedErrorId
$bad[0].CategoryInfo.Category
$bad[0].Exception.Message
$jobs | Remove-FemagBucket -Force
'@
        $run.Output | Should -Contain 'JOBS 0,2 BUCKETS 2' -Because $run.Text
        $run.Output | Should -Contain 'ERRORS 1'
        $run.Output | Should -Contain 'FemagFslMissing,FemagAws.Commands.NewFemagBucketCommand'
        $run.Output | Should -Contain 'InvalidData'
        $run.Text | Should -Match "Folder '.*parvar[/\\]1' has no femag\.fsl"
        Get-CloudBucket $Cloud | Should -BeNullOrEmpty -Because 'the folder without femag.fsl got no bucket, and the others were removed'
    }

    It 'refuses a misspelt region before anything is made and names the nearest' {
        $ws = New-TestWorkspace $Cloud -Fsl '-- model 0' -EndpointUrl ''
        (Get-Content (Join-Path $ws 'config.ini')) -replace '^server_location = .*', 'server_location = eu-centrall-1' | Set-Content (Join-Path $ws 'config.ini')
        $run = Invoke-FreshPwsh -WorkingDirectory $ws.FullName -Script @'
try { Get-ChildItem parvar -Directory | New-FemagBucket -ConfigFile config.ini | ForEach-Object { "MADE $($_.BucketName)" } } catch { }
$Error[0].FullyQualifiedErrorId
$Error[0].CategoryInfo.Category
$Error[0].Exception.Message
'@
        $run.Output | Should -Contain 'FemagRegionUnknown,FemagAws.Commands.NewFemagBucketCommand' -Because $run.Text
        $run.Output | Should -Contain 'InvalidArgument'
        $run.Text | Should -Match "'eu-centrall-1'.*did you mean eu-central-1\?"
        $run.Output -match '^MADE ' | Should -BeNullOrEmpty
    }

    It 'warns once per pipeline about misspelt keys, naming the nearest, and about a cloud-init without {{ENV}}' {
        $ws = New-TestWorkspace $Cloud -Fsl '-- model 0', '-- model 1' -Extra "instance_typ = c5.xlarge`nfemag_version = 2024.1"
        (Get-Content (Join-Path $ws 'cloud_init.txt')) -notmatch '^\{\{ENV\}\}' | Set-Content (Join-Path $ws 'cloud_init.txt')
        $run = Invoke-FreshPwsh -WorkingDirectory $ws.FullName -Script @'
$all = . { Get-ChildItem parvar -Directory | New-FemagBucket -ConfigFile config.ini | Tee-Object -Variable jobs | Start-FemagInstance -WhatIf } 3>&1
$warnings = @($all | Where-Object { $_ -is [Management.Automation.WarningRecord] })
"UNKNOWN $(@($warnings -match 'instance_typ \(did you mean instance_type\?\)').Count)"
"CUSTOM $(@($warnings -match 'femag_version').Count)"
"ENV $(@($warnings -match '\{\{ENV\}\}.*BUCKET_NAME').Count)"
$jobs | Remove-FemagBucket -Force
'@
        $run.Output | Should -Contain 'UNKNOWN 1' -Because $run.Text
        $run.Output | Should -Contain 'CUSTOM 1' -Because 'a key nothing reads is named too, without a guess'
        $run.Output | Should -Contain 'ENV 1' -Because $run.Text
        Get-CloudBucket $Cloud | Should -BeNullOrEmpty
    }

    It 'warns once per pipeline about a key that looks like a secret' {
        $ws = New-TestWorkspace $Cloud -Fsl '-- model 0', '-- model 1' -Extra 'aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY'
        $run = Invoke-FreshPwsh -WorkingDirectory $ws.FullName -Script @'
$all = . { Get-ChildItem parvar -Directory | New-FemagBucket -ConfigFile config.ini | Tee-Object -Variable jobs | Start-FemagInstance -WhatIf } 3>&1
"SECRET $(@($all | Where-Object { $_ -is [Management.Automation.WarningRecord] -and $_ -match 'aws_secret_access_key' }).Count)"
$jobs | Remove-FemagBucket -Force
'@
        $run.Output | Should -Contain 'SECRET 1' -Because $run.Text
        Get-CloudBucket $Cloud | Should -BeNullOrEmpty
    }

    It 'takes several instance types as a list: -InstanceType c5.xlarge, m5.xlarge' {
        $ws = New-TestWorkspace $Cloud -Fsl '-- model 0'
        $run = Invoke-FreshPwsh -WorkingDirectory $ws.FullName -Script @'
$jobs = Get-ChildItem parvar -Directory | New-FemagBucket -ConfigFile config.ini
$jobs | Start-FemagInstance -InstanceType c5.xlarge, m5.xlarge -WhatIf -Verbose 4>&1 | Where-Object { $_ -match 'INSTANCE_TYPE=' } | ForEach-Object { "$_" -split "`n" -match '^export INSTANCE_TYPE=' }
"ERRORS $($Error.Count)"
$jobs | Remove-FemagBucket -Force
'@
        $run.Output | Should -Contain "export INSTANCE_TYPE='c5.xlarge,m5.xlarge'" -Because $run.Text
        $run.Output | Should -Contain 'ERRORS 0'
        Get-CloudBucket $Cloud | Should -BeNullOrEmpty
    }

    It 'says what to do when there are no credentials' {
        $home_ = New-TemporaryDirectory 'femag-home-'
        $run = Invoke-FreshPwsh -ArgumentList $Cloud.Endpoint -Environment @{ HOME = $home_; AWS_ACCESS_KEY_ID = $null; AWS_SECRET_ACCESS_KEY = $null } -Script @'
param($Endpoint)
try { Get-FemagJob -Region eu-central-1 -EndpointUrl $Endpoint } catch { }
$Error[0].FullyQualifiedErrorId
$Error[0].CategoryInfo.Category
$Error[0].Exception.Message
'@
        Remove-Item -Recurse -Force $home_
        $run.Output[0] | Should -Be 'FemagNoCredentials,FemagAws.Commands.GetFemagJobCommand'
        $run.Output[1] | Should -Be 'AuthenticationError'
        $run.Output[2] | Should -BeLike "*'aws configure'*AWS_ACCESS_KEY_ID*-ProfileName*"
    }
}

Describe 'Tab completion' {
    It 'completes -Region, -InstanceType and -ProfileName with TabExpansion2' {
        $home_ = New-TemporaryDirectory 'femag-home-'
        New-Item -ItemType Directory (Join-Path $home_ '.aws') | Out-Null
        Set-Content (Join-Path $home_ '.aws/credentials') "[femag-batch]`naws_access_key_id = AKIAFEMAGPESTER00001`naws_secret_access_key = s`n[other]`naws_access_key_id = AKIAFEMAGPESTER00002`naws_secret_access_key = s"
        $run = Invoke-FreshPwsh -Environment @{ HOME = $home_ } -Script @'
foreach ($line in 'New-FemagBucket -Region eu-cen', 'Start-FemagInstance -InstanceType c5.xl', 'Get-FemagJob -ProfileName femag-') {
    'COMPLETES ' + ((TabExpansion2 -inputScript $line -cursorColumn $line.Length).CompletionMatches.CompletionText -join ',')
}
'@
        Remove-Item -Recurse -Force $home_
        $run.ExitCode | Should -Be 0 -Because $run.Text
        $lines = $run.Output | Where-Object { $_ -like 'COMPLETES *' }
        $lines[0] -replace '^COMPLETES ' -split ',' | Should -Contain 'eu-central-1'
        $lines[1] -replace '^COMPLETES ' -split ',' | Should -Contain 'c5.xlarge'
        $lines[2] -replace '^COMPLETES ' -split ',' | Should -Be 'femag-batch'
    }
}

Describe 'Help' {
    It 'shows every cmdlet with Get-Help -Full: synopsis, parameters and examples' {
        $run = Invoke-FreshPwsh -Script @'
foreach ($name in (Get-Module FemagAws -ListAvailable | Select-Object -First 1).ExportedCmdlets.Keys) {
    $text = Get-Help $name -Full | Out-String -Width 120
    '{0}|{1}|{2}|{3}' -f $name, ($text -match 'PARAMETERS'), ($text -match 'EXAMPLE 2'), ($text -match 'about_FemagAws')
}
'@
        $run.ExitCode | Should -Be 0 -Because $run.Text
        $run.Output.Count | Should -Be 11 -Because $run.Text
        foreach ($line in $run.Output) { $line | Should -BeLike '*|True|True|True' }
    }

    It 'shows the examples with -Examples: the pipeline, and saved jobs with Import-Clixml' {
        $run = Invoke-FreshPwsh -Script @'
Get-Help Wait-FemagJob -Examples | Out-String -Width 200
'@
        $run.Text | Should -Match 'EXAMPLE 1'
        $run.Text | Should -Match 'Start-FemagInstance \| Wait-FemagJob'
        $run.Text | Should -Match 'Import-Clixml jobs\.xml \| Wait-FemagJob'
        $run.Text | Should -Not -Match 'PSSerializer'
        $run.Text | Should -Not -Match 'PARAMETERS'
    }

    It 'shows about_FemagAws with Export-Clixml, not PSSerializer' {
        $run = Invoke-FreshPwsh -Script @'
Import-Module FemagAws
Get-Help about_FemagAws | Out-String -Width 120
'@
        $run.Text | Should -Match 'CREDENTIALS AND REGION'
        $run.Text | Should -Match 'Export-Clixml'
        $run.Text | Should -Not -Match 'PSSerializer'
    }
}
