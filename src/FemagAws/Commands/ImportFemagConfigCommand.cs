using System.Management.Automation;
using FemagAws.Internal;

namespace FemagAws.Commands
{
    /// <summary>
    /// <para type="synopsis">Reads the [amazon] section of a femagtools engine configuration file.</para>
    /// <para type="description">Import-FemagConfig reads an INI file written for femagtools' Amazon engine and returns a typed FemagConfig. Keys are case-insensitive; '=' and ':' both separate key and value; whole-line '#' and ';' comments are skipped, but as in femagtools a comment cannot follow a value on the same line (put it on a line of its own); a UTF-8 BOM is fine. The femagtools defaults apply to keys left out. Unknown keys are kept, because the {{ENV}} line of the cloud-init script exports every key. A relative cloud_init path is taken from the config file's folder. Errors name the file, the line and what is wrong.</para>
    /// </summary>
    /// <example>
    ///   <code>$config = Import-FemagConfig ./config.ini; $config.SecurityGroupIds</code>
    ///   <para>Reads config.ini and shows the security groups as a trimmed list.</para>
    /// </example>
    /// <example>
    ///   <code>Import-FemagConfig ./config.ini | ForEach-Object { Get-ChildItem parvar -Directory | New-FemagBucket -Config $_ }</code>
    ///   <para>Reads the config once and uses it for a whole parameter variation.</para>
    /// </example>
    [Cmdlet(VerbsData.Import, "FemagConfig")]
    [OutputType(typeof(FemagConfig))]
    public sealed class ImportFemagConfigCommand : FemagCmdlet
    {
        /// <summary>
        /// <para type="description">The INI file to read.</para>
        /// </summary>
        [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
        [Alias("FullName", "PSPath", "LiteralPath", "ConfigFile")]
        [ValidateNotNullOrEmpty]
        public string[] Path { get; set; } = new string[0];

        protected override void ProcessRecord()
        {
            foreach (var path in Path)
            {
                try
                {
                    WriteObject(FemagConfig.Load(SessionState.Path.GetUnresolvedProviderPathFromPSPath(path)));
                }
                catch (FemagException ex)
                {
                    WriteFailure(ex, path);
                }
            }
        }
    }
}
