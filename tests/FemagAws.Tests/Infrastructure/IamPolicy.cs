using System.Text.Json;
using System.Text.RegularExpressions;

namespace FemagAws.Tests.Infrastructure;

/// <summary>
/// One authorization IAM makes for a request: an action on a resource ARN, with the request's condition keys
/// (key names as IAM writes them, e.g. "aws:RequestTag/femag-aws:bucket"; a key that is absent is not in the map).
/// </summary>
public sealed record IamCheck(string Action, string Resource, IReadOnlyDictionary<string, string[]> Context)
{
    public static readonly IReadOnlyDictionary<string, string[]> NoContext = new Dictionary<string, string[]>();

    public override string ToString() =>
        $"{Action} on {Resource}" + (Context.Count == 0 ? string.Empty : " with " + string.Join(", ", Context.OrderBy(c => c.Key, StringComparer.Ordinal).Select(c => $"{c.Key}=[{string.Join(",", c.Value)}]")));
}

/// <summary>
/// A small evaluator of an identity policy, as IAM evaluates one (an explicit Deny wins, else any matching Allow
/// allows, else the implicit deny): Action and Resource with * and ? wildcards, and the condition operators the shipped
/// policies use (StringEquals, StringLike, Null, ForAllValues:/ForAnyValue:StringEquals). Anything else in a policy
/// (NotAction, NotResource, other operators) is refused when loading, so a policy is never judged by rules this
/// evaluator does not know.
/// </summary>
public sealed class IamPolicy
{
    private static readonly string[] Operators = { "StringEquals", "StringLike", "Null", "ForAllValues:StringEquals", "ForAnyValue:StringEquals" };

    private readonly List<Statement> _statements;

    private IamPolicy(List<Statement> statements) => _statements = statements;

    /// <summary>Reads a policy file; each placeholder (e.g. "&lt;ACCOUNT-ID&gt;") is replaced by its value first.</summary>
    public static IamPolicy Load(string path, IReadOnlyDictionary<string, string>? placeholders = null)
    {
        var text = File.ReadAllText(path);
        foreach (var (placeholder, value) in placeholders ?? new Dictionary<string, string>())
        {
            text = text.Replace(placeholder, value, StringComparison.Ordinal);
        }

        return Parse(text);
    }

    public static IamPolicy Parse(string json)
    {
        using var document = JsonDocument.Parse(json);
        var root = document.RootElement;
        if (root.GetProperty("Version").GetString() != "2012-10-17")
        {
            throw new NotSupportedException("Only policy language version 2012-10-17 is evaluated.");
        }

        var statements = root.GetProperty("Statement");
        var list = statements.ValueKind == JsonValueKind.Array ? statements.EnumerateArray().Select(ParseStatement).ToList() : new List<Statement> { ParseStatement(statements) };
        return new IamPolicy(list);
    }

    public bool Allows(IamCheck check)
    {
        var matching = _statements.Where(s => s.Matches(check)).ToList();
        return matching.Any(s => s.Allow) && !matching.Any(s => !s.Allow);
    }

    private static Statement ParseStatement(JsonElement element)
    {
        foreach (var property in element.EnumerateObject())
        {
            if (property.Name is not ("Sid" or "Effect" or "Action" or "Resource" or "Condition"))
            {
                throw new NotSupportedException($"A statement with {property.Name} is not evaluated here.");
            }
        }

        var effect = element.GetProperty("Effect").GetString();
        var conditions = new List<Condition>();
        if (element.TryGetProperty("Condition", out var condition))
        {
            foreach (var op in condition.EnumerateObject())
            {
                if (!Operators.Contains(op.Name, StringComparer.Ordinal))
                {
                    throw new NotSupportedException($"The condition operator {op.Name} is not evaluated here.");
                }

                conditions.AddRange(op.Value.EnumerateObject().Select(key => new Condition(op.Name, key.Name, Strings(key.Value))));
            }
        }

        return new Statement(
            effect == "Allow" ? true : effect == "Deny" ? false : throw new NotSupportedException("Effect " + effect),
            Strings(element.GetProperty("Action")).Select(a => Wildcard(a, ignoreCase: true)).ToList(),
            Strings(element.GetProperty("Resource")).Select(r => Wildcard(r, ignoreCase: false)).ToList(),
            conditions);
    }

    private static string[] Strings(JsonElement element) =>
        element.ValueKind == JsonValueKind.Array ? element.EnumerateArray().Select(e => e.GetString()!).ToArray() : new[] { element.GetString()! };

    /// <summary>IAM's wildcards: * any run of characters, ? one character; actions ignore case, ARNs do not.</summary>
    private static Regex Wildcard(string pattern, bool ignoreCase) =>
        new("^" + Regex.Escape(pattern).Replace(@"\*", ".*").Replace(@"\?", ".") + "$",
            RegexOptions.CultureInvariant | RegexOptions.Singleline | (ignoreCase ? RegexOptions.IgnoreCase : RegexOptions.None));

    private sealed record Statement(bool Allow, List<Regex> Actions, List<Regex> Resources, List<Condition> Conditions)
    {
        public bool Matches(IamCheck check) =>
            Actions.Any(a => a.IsMatch(check.Action)) && Resources.Any(r => r.IsMatch(check.Resource)) && Conditions.All(c => c.Holds(check.Context));
    }

    private sealed record Condition(string Operator, string Key, string[] Values)
    {
        public bool Holds(IReadOnlyDictionary<string, string[]> context)
        {
            // Condition key names ignore case; their values do not (for these operators).
            var found = context.FirstOrDefault(c => string.Equals(c.Key, Key, StringComparison.OrdinalIgnoreCase)).Value;
            return Operator switch
            {
                "Null" => Values.Any(v => bool.Parse(v) == (found == null)),
                "StringEquals" => found != null && found.Any(f => Values.Contains(f, StringComparer.Ordinal)),
                "StringLike" => found != null && found.Any(f => Values.Any(v => Wildcard(v, ignoreCase: false).IsMatch(f))),

                // IAM: ForAllValues holds when the key is absent; ForAnyValue does not.
                "ForAllValues:StringEquals" => found == null || found.All(f => Values.Contains(f, StringComparer.Ordinal)),
                "ForAnyValue:StringEquals" => found != null && found.Any(f => Values.Contains(f, StringComparer.Ordinal)),
                _ => throw new NotSupportedException(Operator),
            };
        }
    }
}
