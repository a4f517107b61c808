namespace AttnEval.Abstractions;

/// <summary>One option a metric or judge accepts in a recipe; the recipe validator checks type and range before any model loads.</summary>
/// <param name="Key">The key, snake_case (e.g. <c>top_heads</c>).</param>
/// <param name="Type">Its type.</param>
/// <param name="Default">Default value (boxed int/double/bool/string/list), or null when required/absent.</param>
/// <param name="Description">One line: meaning, unit, and source (paper § / spec §).</param>
public sealed record OptionSpec(string Key, OptionType Type, object? Default, string Description)
{
    /// <summary>Inclusive lower bound for numbers, or null.</summary>
    public double? Min { get; init; }
    /// <summary>Inclusive upper bound for numbers, or null.</summary>
    public double? Max { get; init; }
    /// <summary>Allowed values for strings (for <see cref="OptionType.FilePath"/>/<see cref="OptionType.FolderPath"/>:
    /// keywords accepted instead of a path), or null for any.</summary>
    public IReadOnlyList<string>? AllowedValues { get; init; }
    /// <summary>True when the recipe must set it.</summary>
    public bool Required { get; init; }
}
