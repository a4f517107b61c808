namespace AttnEval.Abstractions;

/// <summary>Type of a metric option value in a recipe.</summary>
public enum OptionType
{
    /// <summary>A whole number.</summary>
    Integer,
    /// <summary>A real number.</summary>
    Number,
    /// <summary>true/false.</summary>
    Boolean,
    /// <summary>A string (optionally one of <see cref="OptionSpec.AllowedValues"/>).</summary>
    String,
    /// <summary>A list of strings.</summary>
    StringList,
    /// <summary>A list of whole numbers.</summary>
    IntegerList,
    /// <summary>A list of real numbers.</summary>
    NumberList,
    /// <summary>A path to an existing file. The recipe loader resolves it like <c>dataset.path</c> (working directory
    /// first, then the folder of the recipe file that wrote it), refuses a missing file at its <c>file:line:col</c>
    /// before any model loads, and hands the metric the full path. Values in <see cref="OptionSpec.AllowedValues"/>
    /// are keywords accepted as they are instead of a path (e.g. <c>dataset</c>). Added in contract 1.1.</summary>
    FilePath,
    /// <summary>A path to an existing folder, resolved and checked like <see cref="FilePath"/>. Added in contract 1.1.</summary>
    FolderPath,
}
