namespace AttnEval.Abstractions;

/// <summary>One entry of a recipe's <c>metrics:</c> as a plugin recipe kind receives it.</summary>
/// <param name="Name">The metric's recipe name.</param>
/// <param name="Factory">Its factory from the catalog (one the kind <see cref="IRecipeKind.Accepts"/>).</param>
/// <param name="Options">Its options, validated against <see cref="IComponentFactory.Options"/>, defaults applied.</param>
public sealed record RecipeMetric(string Name, IMetricFactory Factory, OptionValues Options);
