using System.Globalization;

namespace AttnEval.Evals.SearchRobustness;

/// <summary>Where a perturbation acts (specs/head-methods.md §4.2.2).</summary>
internal enum InjectionPoint
{
    /// <summary>No perturbation.</summary>
    None,
    /// <summary>The question the agent receives.</summary>
    Question,
    /// <summary>Each search query the agent issues (the tool input).</summary>
    Query,
    /// <summary>Each result list the tool returns.</summary>
    Results,
}

/// <summary>
/// One evaluation condition: <c>clean</c> or a perturbation of the catalogue with its severity knobs, written in a recipe
/// as <c>"ID key=value ..."</c> (e.g. <c>"R-DISTR m=2 position=top"</c>). Unset knobs take the defaults of
/// <see cref="Catalogue"/>.
/// </summary>
/// <param name="Id">Catalogue id (<c>clean</c>, <c>Q-PARA</c>, <c>Q-TYPO</c>, <c>Q-REDUND</c>, <c>S-DROP</c>, <c>S-SYN</c>,
/// <c>S-ENT</c>, <c>R-DISTR</c>, <c>R-MISLEAD</c>, <c>R-NOISE</c>, <c>R-DROPGOLD</c>, <c>R-SHUF</c>).</param>
/// <param name="Parameters">Knob values after defaults, as strings, by key.</param>
internal sealed record Condition(string Id, IReadOnlyDictionary<string, string> Parameters)
{
    /// <summary>The reference condition.</summary>
    public static Condition Clean { get; } = new("clean", new Dictionary<string, string>());

    /// <summary>Knobs of each catalogue id: key → (default, check returning an error text or null).</summary>
    public static IReadOnlyDictionary<string, IReadOnlyDictionary<string, (string? Default, Func<string, string?> Check)>> Catalogue { get; } =
        new Dictionary<string, IReadOnlyDictionary<string, (string?, Func<string, string?>)>>(StringComparer.Ordinal)
        {
            ["clean"] = Knobs(),
            ["Q-PARA"] = Knobs(("field", "paraphrase", AnyText)),
            ["Q-TYPO"] = Knobs(("rate", "0.1", Probability)),
            ["Q-REDUND"] = Knobs(("position", "after", OneOf("before", "after"))),
            ["S-DROP"] = Knobs(("p", "1.0", Probability)),
            ["S-SYN"] = Knobs(("terms", "1", Count(1, 10))),
            ["S-ENT"] = Knobs(("p", "1.0", Probability)),
            ["R-DISTR"] = Knobs(("m", "2", Count(1, 10)), ("position", "top", OneOf("top", "bottom", "interleave"))),
            ["R-MISLEAD"] = Knobs(("when", "first_call", OneOf("first_call", "every_call"))),
            ["R-NOISE"] = Knobs(("m", "1", Count(0, 10)), ("x", "100", Count(1, 100))),
            ["R-DROPGOLD"] = Knobs(),
            ["R-SHUF"] = Knobs(),
        };

    /// <summary>Where this condition acts.</summary>
    public InjectionPoint Point => Id switch
    {
        "clean" => InjectionPoint.None,
        _ when Id.StartsWith("Q-", StringComparison.Ordinal) => InjectionPoint.Question,
        _ when Id.StartsWith("S-", StringComparison.Ordinal) => InjectionPoint.Query,
        _ => InjectionPoint.Results,
    };

    /// <summary>The condition's name in records and reports: the id, then the knobs as <c>(k=v,…)</c> in key order.</summary>
    public string Name => Parameters.Count == 0 ? Id : $"{Id}({Severity})";

    /// <summary>The knobs as <c>k=v,…</c> in key order, or <c>n/a</c>.</summary>
    public string Severity => Parameters.Count == 0 ? "n/a" : string.Join(",", Parameters.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => $"{p.Key}={p.Value}"));

    /// <summary>A knob as a number.</summary>
    public double Number(string key) => double.Parse(Parameters[key], CultureInfo.InvariantCulture);

    /// <summary>A knob as text.</summary>
    public string Text(string key) => Parameters[key];

    /// <summary>Parses <c>"ID key=value ..."</c>.</summary>
    /// <param name="text">The condition as written.</param>
    /// <param name="where">Where it was written (e.g. <c>metrics.search-robustness.conditions[3]</c>), for messages.</param>
    /// <exception cref="ArgumentException">Unknown id or knob, a malformed or out-of-range value; the message names <paramref name="where"/> and what was expected.</exception>
    public static Condition Parse(string text, string where)
    {
        var parts = (text ?? "").Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length == 0) throw new ArgumentException($"{where}: empty condition; expected one of {string.Join(", ", Catalogue.Keys)}");
        var id = parts[0];
        if (!Catalogue.TryGetValue(id, out var knobs))
            throw new ArgumentException($"{where}: unknown condition '{id}'; expected one of {string.Join(", ", Catalogue.Keys)}");
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var p in parts.Skip(1))
        {
            int eq = p.IndexOf('=');
            if (eq <= 0) throw new ArgumentException($"{where}: '{p}' in '{text}': expected key=value");
            var (key, value) = (p[..eq], p[(eq + 1)..]);
            if (!knobs.TryGetValue(key, out var knob))
                throw new ArgumentException($"{where}: {id} has no knob '{key}'; expected {(knobs.Count == 0 ? "no knobs" : string.Join(", ", knobs.Keys))}");
            if (knob.Check(value) is { } err) throw new ArgumentException($"{where}: {id} {key}={value}: expected {err}");
            if (!values.TryAdd(key, value)) throw new ArgumentException($"{where}: {id} sets '{key}' twice");
        }
        if (id == "R-NOISE" && values.ContainsKey("x") && !values.ContainsKey("m")) values["m"] = "0"; // x alone: truncation only
        foreach (var (key, knob) in knobs)
            if (!values.ContainsKey(key) && knob.Default is { } d) values[key] = d;
        if (id == "R-NOISE" && values["m"] == "0" && values["x"] == "100")
            throw new ArgumentException($"{where}: R-NOISE with m=0 and x=100 changes nothing; expected m ≥ 1 (random passages) or x < 100 (truncation)");
        return new Condition(id, values);
    }

    private static IReadOnlyDictionary<string, (string?, Func<string, string?>)> Knobs(params (string Key, string? Default, Func<string, string?> Check)[] knobs) =>
        knobs.ToDictionary(k => k.Key, k => (k.Default, k.Check), StringComparer.Ordinal);

    private static string? AnyText(string v) => v.Length > 0 ? null : "a non-empty field name";
    private static string? Probability(string v) =>
        double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out var x) && x >= 0 && x <= 1 ? null : "a number in [0, 1]";
    private static Func<string, string?> Count(int min, int max) => v =>
        int.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out var x) && x >= min && x <= max ? null : $"a whole number in [{min}, {max}]";
    private static Func<string, string?> OneOf(params string[] allowed) => v => allowed.Contains(v, StringComparer.Ordinal) ? null : "one of " + string.Join(", ", allowed);
}
