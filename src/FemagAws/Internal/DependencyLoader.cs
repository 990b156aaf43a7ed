using System;
using System.IO;
using System.Linq;
using System.Management.Automation;
using System.Reflection;
using System.Runtime.InteropServices;

namespace FemagAws.Internal
{
    /// <summary>
    /// Loads FemagAws.Core, the AWS SDK and their helpers from the module's dependencies folder, so that FemagAws works
    /// in a session where another module (AWS.Tools, say) has loaded a different AWSSDK.Core. Only FemagAws.dll sits
    /// next to the manifest; nothing else of ours is found by the default rules.
    /// </summary>
    public sealed class DependencyLoader : IModuleAssemblyInitializer
    {
        private static readonly string Folder =
            Path.Combine(Path.GetDirectoryName(typeof(DependencyLoader).Assembly.Location)!, "dependencies");

        private static readonly bool OnNetFramework =
            RuntimeInformation.FrameworkDescription.StartsWith(".NET Framework", StringComparison.Ordinal);

        private static readonly object Gate = new object();
        private static bool _hooked;

        /// <summary>
        /// Once per process, and never undone: every runspace that imports the module shares the assemblies, and
        /// Remove-Module in one runspace must not take them from another. The handlers answer for our files only.
        /// A failed attempt is tried again by the next import.
        /// </summary>
        public void OnImport()
        {
            lock (Gate)
            {
                if (_hooked)
                {
                    return;
                }

                if (OnNetFramework)
                {
                    AppDomain.CurrentDomain.AssemblyResolve += ResolveOnNetFramework;
                }
                else
                {
                    HookIsolatedLoadContext();
                }

                _hooked = true;
            }
        }

        /// <summary>
        /// PowerShell 7: FemagAws.LoadContext.dll (from dependencies) puts our assemblies into a load context of their
        /// own. Reached by reflection, so that FemagAws.dll has no type that .NET Framework could not load.
        /// </summary>
        private static void HookIsolatedLoadContext() =>
            Assembly.LoadFrom(Path.Combine(Folder, "FemagAws.LoadContext.dll"))
                .GetType("FemagAws.LoadContext.IsolatedLoadContext", throwOnError: true)!
                .GetMethod("Hook")!
                .Invoke(null, new object[] { Folder });

        /// <summary>
        /// Windows PowerShell has one load context and no binding redirects; strong names let our AWSSDK.Core 4 live
        /// beside another module's 3.x. Answer only for a file of ours asked for by one of our assemblies. A request
        /// by name alone (the SDK's own Assembly.Load) is answered only while no assembly of that name is loaded, so
        /// another module's SDK never gets ours in place of its own.
        /// </summary>
        private static Assembly? ResolveOnNetFramework(object? sender, ResolveEventArgs args)
        {
            var name = new AssemblyName(args.Name);
            var requester = args.RequestingAssembly;
            if (requester != null ? !IsOurs(requester) : IsLoaded(name.Name))
            {
                return null;
            }

            var path = PathOf(name);
            return path != null ? Assembly.LoadFrom(path) : null;
        }

        private static bool IsLoaded(string? simpleName) =>
            AppDomain.CurrentDomain.GetAssemblies().Any(a => string.Equals(a.GetName().Name, simpleName, StringComparison.OrdinalIgnoreCase));

        private static string? PathOf(AssemblyName name)
        {
            if (string.IsNullOrEmpty(name.Name))
            {
                return null;
            }

            var path = Path.Combine(Folder, name.Name + ".dll");
            return File.Exists(path) ? path : null;
        }

        private static bool IsOurs(Assembly assembly) =>
            !assembly.IsDynamic && !string.IsNullOrEmpty(assembly.Location) &&
            (assembly == typeof(DependencyLoader).Assembly ||
             string.Equals(Path.GetDirectoryName(assembly.Location), Folder, StringComparison.OrdinalIgnoreCase));
    }
}
