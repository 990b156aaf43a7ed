using System;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Runtime.Loader;

namespace FemagAws.LoadContext
{
    /// <summary>
    /// FemagAws.Core and everything it needs from the module's dependencies folder load into a context of their own,
    /// the way PSResourceGet isolates its dependencies. Only FemagAws.Core is handed to the default context, so the
    /// cmdlets see its job types; no AWS SDK type is part of a cmdlet's parameters or output.
    /// </summary>
    public sealed class IsolatedLoadContext : AssemblyLoadContext
    {
        private const string CoreAssemblyName = "FemagAws.Core";

        private static IsolatedLoadContext? _instance;

        // The .NET runtime's own assemblies (System.Memory, System.Text.Json...), to prefer over our netstandard
        // copies; not the host's, so pwsh's older copies (or another host's AWS SDK) never replace ours.
        private static readonly Lazy<ILookup<string, string>> RuntimeAssemblies = new Lazy<ILookup<string, string>>(() =>
        {
            var runtime = Path.GetDirectoryName(typeof(object).Assembly.Location) ?? string.Empty;
            return ((AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES") as string) ?? string.Empty)
                .Split(new[] { Path.PathSeparator }, StringSplitOptions.RemoveEmptyEntries)
                .Where(p => string.Equals(Path.GetDirectoryName(p), runtime, StringComparison.Ordinal))
                .ToLookup(p => Path.GetFileNameWithoutExtension(p), StringComparer.OrdinalIgnoreCase);
        });

        private readonly string _folder;

        private IsolatedLoadContext(string folder) => _folder = folder;

        /// <summary>Called once per process (under a lock) by FemagAws.dll's module initializer, with the dependencies folder.</summary>
        public static void Hook(string folder)
        {
            _instance = new IsolatedLoadContext(folder);
            Default.Resolving += ResolveCore;
        }

        // By path: asking the context by name would fall back to the default context, and so back here, if the file is missing.
        private static Assembly? ResolveCore(AssemblyLoadContext context, AssemblyName name)
        {
            var path = name.Name == CoreAssemblyName ? _instance?.PathOf(name) : null;
            return path != null ? _instance!.LoadFromAssemblyPath(path) : null;
        }

        protected override Assembly? Load(AssemblyName name)
        {
            var path = PathOf(name);
            if (path == null || RuntimeHasAtLeast(name))
            {
                return null;
            }

            return LoadFromAssemblyPath(path);
        }

        private string? PathOf(AssemblyName name)
        {
            var path = string.IsNullOrEmpty(name.Name) ? null : Path.Combine(_folder, name.Name + ".dll");
            return path != null && File.Exists(path) ? path : null;
        }

        /// <summary>
        /// Type identity with the runtime matters more than our copy: a netstandard System.Memory would bring its own
        /// Span. PowerShell's own older copies (Microsoft.Bcl.AsyncInterfaces 5.0 in 7.2 and 7.4) lose to ours.
        /// </summary>
        private static bool RuntimeHasAtLeast(AssemblyName name)
        {
            foreach (var path in RuntimeAssemblies.Value[name.Name!])
            {
                var version = AssemblyName.GetAssemblyName(path).Version;
                if (name.Version == null || (version != null && version >= name.Version))
                {
                    return true;
                }
            }

            return false;
        }
    }
}
