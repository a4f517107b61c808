using AttnEval.Abstractions;

namespace AttnEval.Plugins.Sdk;

/// <summary>
/// Declares a property of a plugin's options class as one recipe option, so its <see cref="OptionSpec"/> (see
/// <see cref="OptionBinder.Specs{T}"/>) and its typed value (see <see cref="OptionBinder.Bind{T}"/>) come from one
/// declaration: the key, the one-line description and the range are written here, the default is the property's
/// initializer, and the type follows the property's type.
/// </summary>
/// <remarks>
/// Property types and the <see cref="OptionType"/> they declare: <c>int</c>, <c>long</c> → <see cref="OptionType.Integer"/>;
/// <c>double</c>, <c>float</c> → <see cref="OptionType.Number"/>; <c>bool</c> → <see cref="OptionType.Boolean"/>;
/// <c>string</c> → <see cref="OptionType.String"/> (or <see cref="OptionType.FilePath"/>/<see cref="OptionType.FolderPath"/>
/// with <see cref="FilePath"/>/<see cref="FolderPath"/>); an enum → <see cref="OptionType.String"/> whose allowed values are
/// the enum's members by their option names (<see cref="OptionNameAttribute"/>, else <see cref="Naming"/>); a list
/// (<c>T[]</c>, <c>List&lt;T&gt;</c>, <c>IReadOnlyList&lt;T&gt;</c>, <c>IList&lt;T&gt;</c>, <c>IEnumerable&lt;T&gt;</c>,
/// <c>IReadOnlyCollection&lt;T&gt;</c>) of <c>string</c>, <c>int</c>/<c>long</c> or <c>double</c> →
/// <see cref="OptionType.StringList"/>, <see cref="OptionType.IntegerList"/>, <see cref="OptionType.NumberList"/>. Value
/// types may be nullable (<c>int?</c>): a null initializer means no default. Any other type is a declaration error
/// (<see cref="OptionBinder"/> throws <see cref="InvalidOperationException"/> naming the property).
/// </remarks>
[AttributeUsage(AttributeTargets.Property, AllowMultiple = false, Inherited = true)]
public sealed class OptionAttribute : Attribute
{
    /// <summary>Declares the option <paramref name="key"/>.</summary>
    /// <param name="key">The recipe key, snake_case (e.g. <c>top_heads</c>); unique within the options class.</param>
    /// <param name="description">One line: meaning, unit, and source (paper § / spec §), as <c>attneval describe</c> shows it.</param>
    public OptionAttribute(string key, string description)
    {
        Key = key;
        Description = description;
    }

    /// <summary>The recipe key.</summary>
    public string Key { get; }

    /// <summary>The one-line description.</summary>
    public string Description { get; }

    /// <summary>Inclusive lower bound for a number, an integer or each element of a number/integer list;
    /// <see cref="double.NaN"/> (the default) for none.</summary>
    public double Min { get; set; } = double.NaN;

    /// <summary>Inclusive upper bound, like <see cref="Min"/>; <see cref="double.NaN"/> (the default) for none.</summary>
    public double Max { get; set; } = double.NaN;

    /// <summary>True when a recipe must set the option; its <see cref="OptionSpec.Default"/> is then null whatever the
    /// initializer is.</summary>
    public bool Required { get; set; }

    /// <summary>Allowed values of a string (or string list) option; for a <see cref="FilePath"/>/<see cref="FolderPath"/>
    /// option, keywords accepted instead of a path. Null (the default) for any. Not allowed on an enum property, whose
    /// members are its allowed values.</summary>
    public string[]? Allowed { get; set; }

    /// <summary>A <c>string</c> property holds a path to an existing file (<see cref="OptionType.FilePath"/>).</summary>
    public bool FilePath { get; set; }

    /// <summary>A <c>string</c> property holds a path to an existing folder (<see cref="OptionType.FolderPath"/>).</summary>
    public bool FolderPath { get; set; }

    /// <summary>Position group: options are listed by <see cref="Order"/> (default 0), then base class before derived
    /// class, then declaration order. Lets a class that inherits shared options list them after its own (e.g.
    /// <c>Order = 1</c> on the base's properties).</summary>
    public int Order { get; set; }

    /// <summary>How an enum property's members are written in a recipe when they carry no
    /// <see cref="OptionNameAttribute"/>: <see cref="OptionNaming.SnakeCase"/> (the default, <c>AttnProd</c> →
    /// <c>attn_prod</c>) or <see cref="OptionNaming.KebabCase"/> (<c>LastLine</c> → <c>last-line</c>).</summary>
    public OptionNaming Naming { get; set; } = OptionNaming.SnakeCase;
}

/// <summary>How enum members are written as option strings (see <see cref="OptionAttribute.Naming"/>).</summary>
public enum OptionNaming
{
    /// <summary>Lower case, words joined by <c>_</c>: <c>EnsMarginal</c> → <c>ens_marginal</c>.</summary>
    SnakeCase,
    /// <summary>Lower case, words joined by <c>-</c>: <c>LastLine</c> → <c>last-line</c>.</summary>
    KebabCase,
}

/// <summary>The exact recipe string of one enum member used as an option value (overrides
/// <see cref="OptionAttribute.Naming"/>), e.g. <c>[OptionName("l2")]</c>.</summary>
/// <param name="name">The string a recipe writes; unique within the enum.</param>
[AttributeUsage(AttributeTargets.Field, AllowMultiple = false)]
public sealed class OptionNameAttribute(string name) : Attribute
{
    /// <summary>The string a recipe writes.</summary>
    public string Name { get; } = name;
}
