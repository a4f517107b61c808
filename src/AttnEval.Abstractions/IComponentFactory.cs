namespace AttnEval.Abstractions;

/// <summary>Describes a named part a plugin exports (a metric or a judge): its recipe name and options.</summary>
public interface IComponentFactory
{
    /// <summary>The name used in recipes, kebab-case (e.g. <c>mean-token-entropy</c>).</summary>
    string Name { get; }
    /// <summary>One-line description with the source paper.</summary>
    string Description { get; }
    /// <summary>The options it accepts; any other key in a recipe is rejected.</summary>
    IReadOnlyList<OptionSpec> Options { get; }
}
