using System.Collections;
using System.Globalization;
using System.Management.Automation;
using System.Reflection;
using System.Xml.Linq;

namespace FemagAws.HelpGen;

/// <summary>Something missing from a cmdlet's documentation.</summary>
public sealed record Problem(string Cmdlet, string Message);

public sealed record ExampleHelp(string Code, List<string> Remarks);

public sealed record TypeHelp(string Name, string Description);

/// <summary>A parameter's binding in one parameter set.</summary>
public sealed record SetBinding(bool Mandatory, int? Position, bool ByValue, bool ByPropertyName);

public sealed class ParameterHelp
{
    public required string Name { get; init; }

    public required Type Type { get; init; }

    public required List<string> Description { get; init; }

    public required List<string> Aliases { get; init; }

    /// <summary>Binding per parameter set name; <see cref="CmdletModel.AllSets"/> for a parameter in every set.</summary>
    public required Dictionary<string, SetBinding> Sets { get; init; }

    public string? DefaultValue { get; init; }

    /// <summary>Declaration order: the cmdlet's own parameters first, then those of its base classes.</summary>
    public int Order { get; init; }

    public bool IsSwitch => Type == typeof(SwitchParameter);

    public bool Mandatory => Sets.Values.All(s => s.Mandatory);

    public int? Position => Sets.Values.Select(s => s.Position).FirstOrDefault(p => p != null);

    public bool ByValue => Sets.Values.Any(s => s.ByValue);

    public bool ByPropertyName => Sets.Values.Any(s => s.ByPropertyName);

    public bool InSet(string set) => Sets.ContainsKey(set) || Sets.ContainsKey(CmdletModel.AllSets);

    public SetBinding BindingIn(string set) => Sets.TryGetValue(set, out var binding) ? binding : Sets[CmdletModel.AllSets];
}

public sealed class CmdletHelp
{
    public required string Verb { get; init; }

    public required string Noun { get; init; }

    public string Name => Verb + "-" + Noun;

    public required string Synopsis { get; init; }

    public required List<string> Description { get; init; }

    public required List<ParameterHelp> Parameters { get; init; }

    /// <summary>The parameter sets in help order: the default set first; one set for cmdlets without named sets.</summary>
    public required List<string> ParameterSets { get; init; }

    public required List<TypeHelp> Inputs { get; init; }

    public required List<TypeHelp> Outputs { get; init; }

    public required List<ExampleHelp> Examples { get; init; }
}

/// <summary>Reads cmdlets from an assembly: reflection for the binding, doc comments for the words.</summary>
public static class CmdletModel
{
    public const string AllSets = ParameterAttribute.AllParameterSets;

    public static List<CmdletHelp> Read(Assembly assembly, DocComments docs, out List<Problem> problems)
    {
        problems = new List<Problem>();
        var cmdlets = new List<CmdletHelp>();
        foreach (var type in LoadableTypes(assembly).Where(t => t.IsPublic && t.IsClass && !t.IsAbstract).OrderBy(t => t.FullName, StringComparer.Ordinal))
        {
            if (type.GetCustomAttribute<CmdletAttribute>() is { } attribute)
            {
                cmdlets.Add(ReadCmdlet(type, attribute, docs, problems));
            }
        }

        return cmdlets.OrderBy(c => c.Name, StringComparer.OrdinalIgnoreCase).ToList();
    }

    private static CmdletHelp ReadCmdlet(Type type, CmdletAttribute attribute, DocComments docs, List<Problem> problems)
    {
        var name = attribute.VerbName + "-" + attribute.NounName;
        var typeId = "T:" + type.FullName;
        var member = docs.Member(typeId);

        var synopsis = DocComments.Paras(member, "synopsis");
        if (synopsis.Count == 0)
        {
            problems.Add(new Problem(name, $"no synopsis: add <para type=\"synopsis\"> to the doc comment of class {type.FullName}."));
        }

        var description = DocComments.Paras(member, "description");
        if (description.Count == 0)
        {
            problems.Add(new Problem(name, $"no description: add <para type=\"description\"> to the doc comment of class {type.FullName}."));
        }

        var examples = ReadExamples(member, name, problems);
        if (examples.Count < 2)
        {
            problems.Add(new Problem(name, $"{examples.Count} example(s), at least 2 needed: add <example><code>…</code><para>…</para></example> to the doc comment of class {type.FullName}."));
        }

        var defaults = DefaultsOf(type);
        var parameters = new List<ParameterHelp>();
        var order = 0;
        foreach (var property in ParameterMembers(type))
        {
            var bindings = property.GetCustomAttributes<ParameterAttribute>().ToList();
            if (bindings.Count == 0)
            {
                continue;
            }

            var propertyType = property is PropertyInfo p ? p.PropertyType : ((FieldInfo)property).FieldType;
            var id = (property is PropertyInfo ? "P:" : "F:") + property.DeclaringType!.FullName + "." + property.Name;
            var paramDescription = DocComments.Paras(docs.Member(id), "description");
            if (paramDescription.Count == 0)
            {
                problems.Add(new Problem(name, $"parameter -{property.Name} has no description: add <para type=\"description\"> to the doc comment of {id.Substring(2)}."));
            }

            var sets = new Dictionary<string, SetBinding>(StringComparer.OrdinalIgnoreCase);
            foreach (var binding in bindings)
            {
                sets[binding.ParameterSetName] = new SetBinding(
                    binding.Mandatory,
                    binding.Position == int.MinValue ? null : binding.Position,
                    binding.ValueFromPipeline,
                    binding.ValueFromPipelineByPropertyName);
            }

            parameters.Add(new ParameterHelp
            {
                Name = property.Name,
                Type = propertyType,
                Description = paramDescription,
                Aliases = property.GetCustomAttributes<AliasAttribute>().SelectMany(a => a.AliasNames).ToList(),
                Sets = sets,
                DefaultValue = defaults.TryGetValue(property.Name, out var value) ? value : null,
                Order = order++,
            });
        }

        if (attribute.SupportsShouldProcess)
        {
            parameters.Add(RiskParameter("WhatIf", "wi", "Shows what would happen if the cmdlet runs. The cmdlet is not run.", order++));
            parameters.Add(RiskParameter("Confirm", "cf", "Prompts you for confirmation before running the cmdlet.", order++));
        }

        var named = parameters.SelectMany(p => p.Sets.Keys).Where(s => s != AllSets).Distinct(StringComparer.OrdinalIgnoreCase).ToList();
        var defaultSet = attribute.DefaultParameterSetName;
        var setOrder = named.Count == 0
            ? new List<string> { AllSets }
            : named.OrderBy(s => string.Equals(s, defaultSet, StringComparison.OrdinalIgnoreCase) ? 0 : 1).ThenBy(named.IndexOf).ToList();

        return new CmdletHelp
        {
            Verb = attribute.VerbName,
            Noun = attribute.NounName,
            Synopsis = string.Join(" ", synopsis),
            Description = description,
            Parameters = parameters,
            ParameterSets = setOrder,
            Inputs = InputsOf(name, parameters, docs),
            Outputs = OutputsOf(type, docs),
            Examples = examples,
        };
    }

    private static ParameterHelp RiskParameter(string name, string alias, string description, int order) => new()
    {
        Name = name,
        Type = typeof(SwitchParameter),
        Description = new List<string> { description },
        Aliases = new List<string> { alias },
        Sets = new Dictionary<string, SetBinding> { [AllSets] = new SetBinding(false, null, false, false) },
        DefaultValue = "False",
        Order = order,
    };

    private static List<ExampleHelp> ReadExamples(XElement? member, string cmdlet, List<Problem> problems)
    {
        var examples = new List<ExampleHelp>();
        if (member == null)
        {
            return examples;
        }

        var number = 0;
        foreach (var example in member.Elements("example"))
        {
            number++;
            var code = example.Element("code") is { } c ? DocComments.Code(c) : string.Empty;
            if (code.Length == 0)
            {
                problems.Add(new Problem(cmdlet, $"example {number} has no <code>."));
                continue;
            }

            var remarks = example.Elements("para").Select(DocComments.Text).Where(t => t.Length > 0).ToList();
            if (remarks.Count == 0)
            {
                problems.Add(new Problem(cmdlet, $"example {number} has no <para> saying what it does."));
            }

            examples.Add(new ExampleHelp(code, remarks));
        }

        return examples;
    }

    /// <summary>Public instance properties and fields, the cmdlet's own first, then each base class's, in declaration order.</summary>
    private static IEnumerable<MemberInfo> ParameterMembers(Type type)
    {
        var chain = new List<Type>();
        for (var t = type; t != null && t != typeof(object); t = t.BaseType)
        {
            chain.Add(t);
        }

        const BindingFlags flags = BindingFlags.Public | BindingFlags.Instance | BindingFlags.DeclaredOnly;
        var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var declaring in chain)
        {
            var members = declaring.GetProperties(flags).Cast<MemberInfo>().Concat(declaring.GetFields(flags));
            foreach (var member in members.OrderBy(m => m.MetadataToken))
            {
                // An overriding or hiding member is listed once, as the most derived class declares it.
                if (seen.Add(member.Name))
                {
                    yield return member;
                }
            }
        }
    }

    /// <summary>Default values of parameters, read from a fresh instance; empty where the cmdlet cannot be created.</summary>
    private static Dictionary<string, string?> DefaultsOf(Type type)
    {
        var defaults = new Dictionary<string, string?>(StringComparer.Ordinal);
        object? instance;
        try
        {
            instance = Activator.CreateInstance(type);
        }
        catch (Exception)
        {
            return defaults;
        }

        try
        {
            foreach (var property in type.GetProperties(BindingFlags.Public | BindingFlags.Instance))
            {
                if (property.GetMethod == null || property.GetIndexParameters().Length > 0 || property.GetCustomAttributes<ParameterAttribute>().FirstOrDefault() == null)
                {
                    continue;
                }

                try
                {
                    defaults[property.Name] = Format(property.GetValue(instance));
                }
                catch (Exception)
                {
                    // A getter that needs a running pipeline; no default shown.
                }
            }
        }
        finally
        {
            (instance as IDisposable)?.Dispose();
        }

        return defaults;
    }

    private static string? Format(object? value) => value switch
    {
        null => null,
        SwitchParameter s => s.IsPresent ? "True" : "False",
        string s => s.Length == 0 ? null : s,
        ICollection { Count: 0 } => null,
        IEnumerable items => string.Join(", ", items.Cast<object?>().Select(i => Convert.ToString(i, CultureInfo.InvariantCulture))),
        _ => Convert.ToString(value, CultureInfo.InvariantCulture),
    };

    private static List<TypeHelp> InputsOf(string cmdlet, List<ParameterHelp> parameters, DocComments docs)
    {
        var inputs = new List<TypeHelp>();
        foreach (var group in parameters.Where(p => p.ByValue || p.ByPropertyName).GroupBy(p => ElementType(p.Type)))
        {
            var parts = new List<string>();
            foreach (var parameter in group)
            {
                var ways = new List<string>();
                if (parameter.ByValue)
                {
                    ways.Add("by value");
                }

                if (parameter.ByPropertyName)
                {
                    var names = new[] { parameter.Name }.Concat(parameter.Aliases);
                    ways.Add("by property name (" + string.Join(", ", names) + ")");
                }

                parts.Add($"-{parameter.Name} {string.Join(" or ", ways)}");
            }

            var summary = DocComments.Summary(docs.Member("T:" + group.Key.FullName));
            var description = $"You can pipe {TypeNames.Short(group.Key)} objects to {cmdlet}: {string.Join("; ", parts)}." + (summary.Length > 0 ? " " + summary : string.Empty);
            inputs.Add(new TypeHelp(TypeNames.Full(group.Key), description));
        }

        if (inputs.Count == 0)
        {
            inputs.Add(new TypeHelp("None", $"You cannot pipe objects to {cmdlet}."));
        }

        return inputs;
    }

    private static List<TypeHelp> OutputsOf(Type type, DocComments docs)
    {
        var outputs = new List<TypeHelp>();
        foreach (var attribute in type.GetCustomAttributes<OutputTypeAttribute>())
        {
            foreach (var output in attribute.Type)
            {
                var resolved = output.Type;
                var name = resolved != null ? TypeNames.Full(resolved) : output.Name;
                var summary = resolved != null ? DocComments.Summary(docs.Member("T:" + resolved.FullName)) : string.Empty;
                if (outputs.All(o => o.Name != name))
                {
                    outputs.Add(new TypeHelp(name, summary));
                }
            }
        }

        if (outputs.Count == 0)
        {
            outputs.Add(new TypeHelp("None", "This cmdlet returns no output."));
        }

        return outputs;
    }

    private static Type ElementType(Type type)
    {
        type = Nullable.GetUnderlyingType(type) ?? type;
        return type.IsArray ? type.GetElementType()! : type;
    }

    private static IEnumerable<Type> LoadableTypes(Assembly assembly)
    {
        try
        {
            return assembly.GetTypes();
        }
        catch (ReflectionTypeLoadException ex)
        {
            return ex.Types.Where(t => t != null).Select(t => t!);
        }
    }
}

/// <summary>Type names as PowerShell's help shows them.</summary>
public static class TypeNames
{
    /// <summary>String[], Int32, SwitchParameter, FemagJob[]: for syntax lines.</summary>
    public static string Short(Type type)
    {
        type = Nullable.GetUnderlyingType(type) ?? type;
        return type.IsArray ? Short(type.GetElementType()!) + "[]" : type.Name;
    }

    /// <summary>System.String[], FemagAws.FemagJob: for type entries.</summary>
    public static string Full(Type type)
    {
        type = Nullable.GetUnderlyingType(type) ?? type;
        return type.IsArray ? Full(type.GetElementType()!) + "[]" : type.FullName ?? type.Name;
    }
}
