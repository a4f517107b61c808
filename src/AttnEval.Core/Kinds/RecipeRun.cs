using AttnEval.Core.Plugins;
using AttnEval.Core.Recipes;
using AttnEval.Core.Running;

namespace AttnEval.Core.Kinds;

/// <summary>Runs a recipe in one call, as <c>attneval run</c> does before its report: load and validate it against the catalog,
/// then run it with its kind's descriptor (<see cref="IComponentCatalog.Kinds"/>). For the figures and the full report page
/// afterwards, call <c>AttnEval.Reporting.RunReport.Write(outcome.RunDir, catalog.Kinds)</c>.</summary>
public static class RecipeRun
{
    /// <summary>Loads, validates and runs the recipe file at <paramref name="recipePath"/>.</summary>
    /// <param name="catalog">The parts and kinds the recipe may name (e.g. <see cref="PluginHost.Catalog"/>).</param>
    /// <param name="recipePath">The recipe YAML file.</param>
    /// <param name="overrides"><c>--set</c>-style overrides (<c>dataset.limit=5</c>); null = none.</param>
    /// <param name="resumeDir">A run folder to continue, or null for a new run.</param>
    /// <param name="observer">Progress; null = none.</param>
    /// <param name="services">Host services a kind may use (agent-robustness takes the confidence middleware); null = none.</param>
    /// <param name="cancellationToken">Stops after the current item; finished work stays in the folder.</param>
    /// <returns>The run folder and what <c>attneval run</c> prints.</returns>
    /// <exception cref="RecipeException">The recipe is invalid (every error, with file, line and column).</exception>
    /// <exception cref="RunInputException">Bad input found once the run started.</exception>
    /// <exception cref="Runs.RunFolderException">The resumed folder belongs to another recipe or model.</exception>
    /// <exception cref="OperationCanceledException">Cancelled.</exception>
    public static RunOutcome Run(IComponentCatalog catalog, string recipePath, IReadOnlyList<string>? overrides = null, string? resumeDir = null,
        IRunObserver? observer = null, IServiceProvider? services = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        var recipe = new RecipeLoader(catalog).Load(recipePath, overrides ?? []);
        return Run(catalog, recipe, resumeDir, observer, services, cancellationToken);
    }

    /// <summary>Runs a validated recipe with its kind's descriptor.</summary>
    /// <inheritdoc cref="Run(IComponentCatalog, string, IReadOnlyList{string}?, string?, IRunObserver?, IServiceProvider?, CancellationToken)"/>
    /// <exception cref="RunInputException">The recipe's kind is not in the catalog, or bad input found once the run started.</exception>
    public static RunOutcome Run(IComponentCatalog catalog, Recipe recipe, string? resumeDir = null,
        IRunObserver? observer = null, IServiceProvider? services = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentNullException.ThrowIfNull(recipe);
        if (!catalog.Kinds.TryGetValue(recipe.Kind, out var kind))
            throw new RunInputException($"{recipe.SourceFile}: kind '{recipe.Kind}' is not installed (known: {string.Join(", ", catalog.Kinds.Keys)})");
        return kind.Run(new RecipeRunRequest(recipe, catalog, resumeDir, observer, services), cancellationToken);
    }
}
