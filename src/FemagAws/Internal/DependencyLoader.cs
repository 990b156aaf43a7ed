using System;
using System.IO;
using System.Management.Automation;
using System.Reflection;
using System.Runtime.InteropServices;

namespace FemagAws.Commands
{
    /// <summary>
    /// Loads FemagAws.Core, the AWS SDK and their helpers from the module's dependencies folder, so that FemagAws works
    /// in a session where another module (AWS.Tools, say) has loaded a different AWSSDK.Core. Only FemagAws.dll sits
    /// next to the manifest; nothing else of ours is found by the default rules.
    /// </summary>
    public sealed class DependencyLoader : IModuleAssemblyInitializer, IModuleAssemblyCleanup
    {
        internal const string CoreAssemblyName = "FemagAws.Core";

        internal static readonly string Folder =
            Path.Combine(Path.GetDirectoryName(typeof(DependencyLoader).Assembly.Location)!, "dependencies");

        private static readonly bool OnNetFramework =
            RuntimeInformation.FrameworkDescription.StartsWith(".NET Framework", StringComparison.Ordinal);

        public void OnImport()
        {
            if (OnNetFramework)
            {
                AppDomain.CurrentDomain.AssemblyResolve += ResolveOnNetFramework;
            }
            else
            {
                IsolatedLoadContext.Hook();
            }
        }

        public void OnRemove(PSModuleInfo psModuleInfo)
        {
            if (OnNetFramework)
            {
                AppDomain.CurrentDomain.AssemblyResolve -= ResolveOnNetFramework;
            }
            else
            {
                IsolatedLoadContext.Unhook();
            }
        }

        /// <summary>
        /// Windows PowerShell has one load context and no binding redirects. Answer only for a file of ours, asked for
        /// by one of our assemblies (or by name, as the SDK loads AWSSDK.SecurityToken); strong names let our
        /// AWSSDK.Core 4 live beside another module's 3.x.
        /// </summary>
        private static Assembly? ResolveOnNetFramework(object? sender, ResolveEventArgs args)
        {
            var requester = args.RequestingAssembly;
            if (requester != null && !IsOurs(requester))
            {
                return null;
            }

            var path = PathOf(new AssemblyName(args.Name));
            return path != null ? Assembly.LoadFrom(path) : null;
        }

        internal static string? PathOf(AssemblyName name)
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
