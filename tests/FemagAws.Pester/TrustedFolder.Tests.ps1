# A job rebuilt by Get-FemagJob writes its results only where the user's own New-FemagBucket said: nothing the
# instance writes into the bucket chooses the folder, or which objects are skipped as the job's own input.

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestCloud.psm1') -Force
    $script:Cloud = Start-TestCloud
}

AfterAll {
    Stop-CloudInstance $script:Cloud
    Stop-TestCloud $script:Cloud
}

Describe 'Get-FemagJob | Wait-FemagJob | Receive-FemagResult in a fresh session' {
    It 'receives into the folder New-FemagBucket packed, whatever the instance wrote onto the archive' {
        $ws = New-TestWorkspace $Cloud -Fsl '-- model 0'
        $elsewhere = Join-Path $ws 'elsewhere'
        # The recommended script, gone wrong: it replaces the input archive, with the metadata that earlier versions
        # took the job's folder from pointing at another folder.
        @"
#!/bin/bash
{{ENV}}
mkdir -p ~/.aws
echo -e '[default]\nregion = '`$SERVER_LOCATION'\noutput = json' > ~/.aws/config
mkdir -p ~/data
aws s3 sync s3://`$BUCKET_NAME/ ~/data
cd ~/data
archive=`$(ls *.tar.gz)
tar -xzf `$archive
/usr/local/bin/xfemag -b femag.fsl </dev/null
echo `$? > ~/exit_code
aws s3 sync ~/data s3://`$BUCKET_NAME
echo tampered > ~/other.tar.gz
aws s3 cp ~/other.tar.gz s3://`$BUCKET_NAME/`$archive --metadata 'femag-folder=$([uri]::EscapeDataString($elsewhere))'
aws s3 cp ~/exit_code s3://`$BUCKET_NAME/`$FINISH_TASK_FILENAME
shutdown -h now
"@ | Set-Content -LiteralPath (Join-Path $ws 'cloud_init.txt')

        $start = Invoke-FreshPwsh -WorkingDirectory $ws.FullName -Script @'
Get-ChildItem parvar -Directory | New-FemagBucket -ConfigFile config.ini | Start-FemagInstance | ForEach-Object { "STARTED $($_.Index) $($_.InstanceId)" }
'@
        $start.ExitCode | Should -Be 0 -Because $start.Text
        $start.Text | Should -Match 'STARTED 0 i-'

        $resume = Invoke-FreshPwsh -WorkingDirectory $ws.FullName -Script @'
Get-FemagJob -ConfigFile config.ini | Wait-FemagJob -PollInterval 1 -SettleTime 1 | Receive-FemagResult |
    ForEach-Object { "RECEIVED $($_.Index) $($_.State) $($_.Folder)" }
'@
        $resume.ExitCode | Should -Be 0 -Because $resume.Text
        $real = Join-Path $ws 'parvar/0'
        $resume.Output | Should -Contain "RECEIVED 0 Succeeded $real" -Because $resume.Text
        $elsewhere | Should -Not -Exist
        Get-Content -LiteralPath (Join-Path $real 'exit_code') | Should -Be '0'
        Join-Path $real 'femag.log' | Should -Exist
        # The archive the instance replaced is not the one New-FemagBucket sent, so it is not skipped as the job's input.
        Get-Content -LiteralPath (Join-Path $real '0.tar.gz') | Should -Be 'tampered'
    }

    It 'lists a bucket made by an earlier version without a folder, and Receive-FemagResult asks for -Destination' {
        $ws = New-TestWorkspace $Cloud -Fsl @()
        $bucket = "$([guid]::NewGuid())-5"
        $aws = @('--endpoint-url', $Cloud.Endpoint, '--region', 'eu-central-1')
        aws @aws s3api create-bucket --bucket $bucket --create-bucket-configuration LocationConstraint=eu-central-1 | Out-Null
        aws @aws s3api put-bucket-tagging --bucket $bucket --tagging 'TagSet=[{Key=femag-aws:index,Value=5}]'
        Set-Content -LiteralPath (Join-Path $ws 'exit_code') -Value '0'
        aws @aws s3 cp (Join-Path $ws 'exit_code') "s3://$bucket/5.tar.gz" --metadata "femag-folder=$([uri]::EscapeDataString((Join-Path $ws 'old')))" | Out-Null
        aws @aws s3 cp (Join-Path $ws 'exit_code') "s3://$bucket/exit_code" | Out-Null

        $run = Invoke-FreshPwsh -WorkingDirectory $ws.FullName -ArgumentList $bucket -Script @'
param($Bucket)
$job = Get-FemagJob -ConfigFile config.ini | Where-Object BucketName -eq $Bucket
"FOLDER [$($job.Folder)] $($job.State)"
$job | Receive-FemagResult -ErrorAction SilentlyContinue -ErrorVariable failed
"ERROR $($failed[0].FullyQualifiedErrorId)"
$job | Receive-FemagResult -Destination results | ForEach-Object { "RECEIVED $($_.Index) $($_.State)" }
'@
        $run.ExitCode | Should -Be 0 -Because $run.Text
        $run.Output | Should -Contain 'FOLDER [] Succeeded' -Because $run.Text
        $run.Output -match '^ERROR FemagNoDestination,' | Should -Not -BeNullOrEmpty -Because $run.Text
        $run.Output | Should -Contain 'RECEIVED 5 Succeeded' -Because $run.Text
        Join-Path $ws 'old' | Should -Not -Exist
        Join-Path $ws 'results/5/exit_code' | Should -Exist
    }
}
