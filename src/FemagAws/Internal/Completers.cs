using System;
using System.Collections;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Management.Automation;
using System.Management.Automation.Language;
using System.Management.Automation.Runspaces;
using FemagAws.Aws;

namespace FemagAws.Internal
{
    /// <summary>Completes -Region from the AWS SDK's region list; the tooltip is the region's display name.</summary>
    public sealed class RegionCompleter : IArgumentCompleter
    {
        public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete, CommandAst commandAst, IDictionary fakeBoundParameters) =>
            Completion.Matching(AwsCatalog.RegionNames(), wordToComplete, r => r.Key, r => r.Key + " - " + r.Value);
    }

    /// <summary>Completes -InstanceType from EC2's instance types as the AWS SDK lists them.</summary>
    public sealed class InstanceTypeCompleter : IArgumentCompleter
    {
        public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete, CommandAst commandAst, IDictionary fakeBoundParameters) =>
            Completion.Matching(AwsCatalog.InstanceTypes(), wordToComplete, t => t, t => t);
    }

    /// <summary>Completes -ProfileName from the user's AWS credentials and config files, or from -ProfileLocation's.</summary>
    public sealed class ProfileNameCompleter : IArgumentCompleter
    {
        public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete, CommandAst commandAst, IDictionary fakeBoundParameters)
        {
            var location = fakeBoundParameters["ProfileLocation"] as string;
            IReadOnlyList<string> names;
            try
            {
                // As the cmdlet does: a relative path is taken from the current PowerShell location.
                if (!string.IsNullOrEmpty(location) && !Path.IsPathRooted(location))
                {
                    var here = Runspace.DefaultRunspace?.SessionStateProxy.Path.CurrentFileSystemLocation.ProviderPath;
                    location = here != null ? Path.Combine(here, location) : location;
                }

                names = AwsCatalog.ProfileNames(string.IsNullOrEmpty(location) ? null : location);
            }
            catch (Exception)
            {
                // An unreadable file offers nothing; completion must never throw at the user.
                return Enumerable.Empty<CompletionResult>();
            }

            return Completion.Matching(names, wordToComplete, n => n, n => "AWS profile " + n);
        }
    }

    internal static class Completion
    {
        public static IEnumerable<CompletionResult> Matching<T>(IEnumerable<T> items, string wordToComplete, Func<T, string> text, Func<T, string> tooltip)
        {
            var word = (wordToComplete ?? string.Empty).Trim('\'', '"');
            foreach (var item in items)
            {
                var value = text(item);
                if (value.StartsWith(word, StringComparison.OrdinalIgnoreCase))
                {
                    // A name with spaces or quotes must come back quoted to bind as one argument.
                    var completion = value.IndexOfAny(new[] { ' ', '\'', '"', '$', '`', ';' }) >= 0 ? "'" + value.Replace("'", "''") + "'" : value;
                    yield return new CompletionResult(completion, value, CompletionResultType.ParameterValue, tooltip(item));
                }
            }
        }
    }
}
