namespace AttnEval.Abstractions;

/// <summary>
/// Validated option values for one metric or judge, with defaults applied. Values are boxed
/// <see cref="long"/>, <see cref="double"/>, <see cref="bool"/>, <see cref="string"/> or lists of those.
/// </summary>
public sealed class OptionValues
{
    private readonly IReadOnlyDictionary<string, object?> _values;

    /// <summary>Wraps already-validated values.</summary>
    public OptionValues(IReadOnlyDictionary<string, object?> values) => _values = values;

    /// <summary>No options.</summary>
    public static OptionValues Empty { get; } = new(new Dictionary<string, object?>());

    /// <summary>All values by key.</summary>
    public IReadOnlyDictionary<string, object?> Values => _values;

    /// <summary>True when the key has a non-null value.</summary>
    public bool Has(string key) => _values.TryGetValue(key, out var v) && v is not null;

    /// <summary>An integer option.</summary>
    /// <exception cref="KeyNotFoundException">The key is absent and no fallback was given.</exception>
    public int GetInt(string key, int? fallback = null) => Get(key, fallback, v => Convert.ToInt32(v, System.Globalization.CultureInfo.InvariantCulture));
    /// <summary>A real option.</summary>
    public double GetDouble(string key, double? fallback = null) => Get(key, fallback, v => Convert.ToDouble(v, System.Globalization.CultureInfo.InvariantCulture));
    /// <summary>A boolean option.</summary>
    public bool GetBool(string key, bool? fallback = null) => Get(key, fallback, v => (bool)v);
    /// <summary>A string option.</summary>
    public string GetString(string key, string? fallback = null) =>
        _values.TryGetValue(key, out var v) && v is not null ? Convert.ToString(v, System.Globalization.CultureInfo.InvariantCulture)! :
        fallback ?? throw new KeyNotFoundException($"option '{key}' is not set");
    /// <summary>A list option as strings.</summary>
    public IReadOnlyList<string> GetStringList(string key) =>
        _values.TryGetValue(key, out var v) && v is System.Collections.IEnumerable e && v is not string
            ? e.Cast<object?>().Select(x => Convert.ToString(x, System.Globalization.CultureInfo.InvariantCulture) ?? "").ToList()
            : [];

    private T Get<T>(string key, T? fallback, Func<object, T> convert) where T : struct =>
        _values.TryGetValue(key, out var v) && v is not null ? convert(v) :
        fallback ?? throw new KeyNotFoundException($"option '{key}' is not set");
}
