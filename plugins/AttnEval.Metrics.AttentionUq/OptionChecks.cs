using System.Globalization;
using AttnEval.Abstractions;

namespace AttnEval.Metrics.AttentionUq;

/// <summary>Option reading with errors that name <c>metrics.&lt;name&gt;.&lt;key&gt;</c> (the recipe loader reports them at
/// the metric's position).</summary>
internal static class OptionChecks
{
    public static ArgumentException Bad(string metric, string key, string message) => new($"metrics.{metric}.{key}: {message}");

    public static double Number(OptionValues o, string metric, string key, double? fallback, double min, double max, bool minExclusive = false)
    {
        double v;
        try { v = o.GetDouble(key, fallback); }
        catch (KeyNotFoundException) { throw Bad(metric, key, "is required"); }
        catch (Exception e) when (e is FormatException or InvalidCastException) { throw Bad(metric, key, $"expected a number, got '{o.Values[key]}'"); }
        if (!double.IsFinite(v) || v < min || v > max || (minExclusive && v == min))
            throw Bad(metric, key, $"{v.ToString(CultureInfo.InvariantCulture)} is outside {(minExclusive ? "(" : "[")}{Show(min)}, {Show(max)}{(double.IsPositiveInfinity(max) ? ")" : "]")}");
        return v;
    }

    public static bool Boolean(OptionValues o, string metric, string key, bool fallback)
    {
        try { return o.GetBool(key, fallback); }
        catch (InvalidCastException) { throw Bad(metric, key, $"expected true or false, got '{o.Values[key]}'"); }
    }

    public static int? Integer(OptionValues o, string metric, string key, int min)
    {
        if (!o.Has(key)) return null;
        int v;
        try { v = o.GetInt(key); }
        catch (Exception e) when (e is FormatException or InvalidCastException or OverflowException) { throw Bad(metric, key, $"expected an integer, got '{o.Values[key]}'"); }
        if (v < min) throw Bad(metric, key, $"{v} is below {min}");
        return v;
    }

    public static IReadOnlyList<int>? IntegerList(OptionValues o, string metric, string key, int min)
    {
        if (!o.Has(key)) return null;
        var raw = o.GetStringList(key);
        if (raw.Count == 0) throw Bad(metric, key, "the list is empty; name at least one layer or leave the key out");
        var list = new List<int>();
        foreach (var s in raw)
        {
            if (!int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v)) throw Bad(metric, key, $"'{s}' is not an integer");
            if (v < min) throw Bad(metric, key, $"{v} is below {min}");
            if (!list.Contains(v)) list.Add(v);
        }
        return list;
    }

    public static string Choice(OptionValues o, string metric, string key, string fallback, params string[] allowed)
    {
        var v = o.GetString(key, fallback);
        if (!allowed.Contains(v, StringComparer.Ordinal)) throw Bad(metric, key, $"'{v}' is not one of {string.Join(", ", allowed)}");
        return v;
    }

    /// <summary>A string option that must be one of its spec's allowed values; the spec's default when absent.</summary>
    public static string Choice(OptionValues o, string metric, OptionSpec spec) =>
        Choice(o, metric, spec.Key, (string)spec.Default!, [.. spec.AllowedValues!]);

    private static string Show(double x) => double.IsPositiveInfinity(x) ? "∞" : x.ToString(CultureInfo.InvariantCulture);
}
