using System;
using System.Collections;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Management.Automation;
using FemagAws.Insight;

namespace FemagAws.Internal
{
    /// <summary>
    /// Rebuilds a <see cref="FemagJob"/> from its Clixml form (Export-Clixml/Import-Clixml), so a scheduled
    /// task can save jobs and a later session can pipe them on. Registered in FemagAws.types.ps1xml.
    /// </summary>
    public sealed class FemagJobConverter : PSTypeConverter
    {
        public override bool CanConvertFrom(object sourceValue, Type destinationType) =>
            destinationType == typeof(FemagJob) && sourceValue is PSObject pso && IsDeserializedJob(pso);

        public override object ConvertFrom(object sourceValue, Type destinationType, IFormatProvider formatProvider, bool ignoreCase)
        {
            var pso = (PSObject)sourceValue;
            var config = pso.Properties["Config"]?.Value as PSObject;
            var settings = new List<KeyValuePair<string, string>>();
            if (config?.Properties["Settings"]?.Value is PSObject settingsObject && settingsObject.BaseObject is IDictionary dictionary)
            {
                foreach (DictionaryEntry entry in dictionary)
                {
                    settings.Add(new KeyValuePair<string, string>(entry.Key.ToString(), entry.Value?.ToString() ?? string.Empty));
                }
            }

            return new FemagJob
            {
                Index = Convert.ToInt32(Get(pso, "Index"), CultureInfo.InvariantCulture),
                BucketName = (string)Get(pso, "BucketName"),
                Folder = Get(pso, "Folder") as string,
                Region = (string)Get(pso, "Region"),
                EndpointUrl = Get(pso, "EndpointUrl") as string,
                ProfileName = Get(pso, "ProfileName") as string,
                ProfileLocation = Get(pso, "ProfileLocation") as string,
                InstanceId = Get(pso, "InstanceId") as string,
                PoolId = Get(pso, "PoolId") as string,
                InstanceType = Get(pso, "InstanceType") as string,
                Lifecycle = Get(pso, "Lifecycle") as string,
                Attempt = Get(pso, "Attempt") is object attempt ? Convert.ToInt32(attempt, CultureInfo.InvariantCulture) : 0,
                Losses = Get(pso, "Losses") is IEnumerable losses ? losses.Cast<object>().Select(l => l.ToString()).ToList() : new List<string>(),
                State = (FemagJobState)Enum.Parse(typeof(FemagJobState), Get(pso, "State").ToString(), ignoreCase: true),
                ExitCode = Get(pso, "ExitCode") is object code ? Convert.ToInt32(code, CultureInfo.InvariantCulture) : (int?)null,
                Reason = Get(pso, "Reason") as string,
                CreationTime = Get(pso, "CreationTime") as DateTime?,
                LaunchTime = Get(pso, "LaunchTime") as DateTime?,
                FinishTime = Get(pso, "FinishTime") as DateTime?,
                ArchiveETag = Get(pso, "ArchiveETag") as string,
                Runs = Get(pso, "Runs") is IEnumerable runs ? runs.Cast<object>().OfType<PSObject>().Select(ToRun).ToList() : new List<JobRun>(),
                BilledSeconds = Get(pso, "BilledSeconds") is object billed ? Convert.ToDouble(billed, CultureInfo.InvariantCulture) : (double?)null,
                Cost = Get(pso, "Cost") is object cost ? Convert.ToDecimal(cost, CultureInfo.InvariantCulture) : (decimal?)null,
                Config = FemagConfig.FromSettings(settings, config?.Properties["SourcePath"]?.Value as string),
            };
        }

        public override bool CanConvertTo(object sourceValue, Type destinationType) => false;

        public override object ConvertTo(object sourceValue, Type destinationType, IFormatProvider formatProvider, bool ignoreCase) =>
            throw new NotSupportedException();

        private static JobRun ToRun(PSObject run) => new JobRun
        {
            Attempt = Get(run, "Attempt") is object attempt ? Convert.ToInt32(attempt, CultureInfo.InvariantCulture) : 0,
            InstanceId = Get(run, "InstanceId") as string ?? string.Empty,
            InstanceType = Get(run, "InstanceType") as string,
            Lifecycle = Get(run, "Lifecycle") as string,
            PoolId = Get(run, "PoolId") as string,
            Start = Get(run, "Start") as DateTime? ?? default,
            End = Get(run, "End") as DateTime?,
            Outcome = Get(run, "Outcome") is object outcome ? (JobRunOutcome)Enum.Parse(typeof(JobRunOutcome), outcome.ToString(), ignoreCase: true) : JobRunOutcome.Running,
        };

        private static bool IsDeserializedJob(PSObject pso)
        {
            foreach (var name in pso.TypeNames)
            {
                if (name == "Deserialized." + typeof(FemagJob).FullName)
                {
                    return true;
                }
            }

            return false;
        }

        private static object Get(PSObject pso, string name)
        {
            var value = pso.Properties[name]?.Value;
            return value is PSObject wrapped ? wrapped.BaseObject : value!;
        }
    }
}
