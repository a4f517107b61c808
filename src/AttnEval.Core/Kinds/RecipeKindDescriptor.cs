using AttnEval.Abstractions;
using AttnEval.Core.Plugins;
using AttnEval.Core.Recipes;
using AttnEval.Core.Running;

namespace AttnEval.Core.Kinds;

/// <summary>How a recipe kind uses the <c>dataset:</c> section.</summary>
public enum DatasetUse
{
    /// <summary>The kind takes no dataset; a recipe that names one is refused.</summary>
    None,
    /// <summary>The dataset is optional (e.g. a head analysis that builds its own probes).</summary>
    Optional,
    /// <summary>The recipe must name a dataset.</summary>
    Required,
}

/// <summary>
/// A recipe kind (<c>kind:</c>) as the host knows it: what its recipes may hold (checked by the recipe loader before any model
/// loads), how it runs, how its report page is rendered and what <c>attneval run</c> prints at the end. The catalog's
/// <see cref="IComponentCatalog.Kinds"/> holds the built-in kinds (<see cref="BuiltInKinds"/>) and every kind a plugin brings
/// (<see cref="IRecipeKind"/>, adapted by <see cref="PluginRecipeKind"/>); nothing else in the host lists kinds.
/// </summary>
public abstract class RecipeKindDescriptor
{
    /// <summary>The recipe spelling, kebab-case.</summary>
    public abstract string Name { get; }

    /// <summary>One line: what a run of this kind measures.</summary>
    public abstract string Description { get; }

    /// <summary>Who provides it: <c>core</c> or the plugin's name.</summary>
    public virtual string Owner => "core";

    /// <summary>How the kind uses <c>dataset:</c>.</summary>
    public abstract DatasetUse Dataset { get; }

    /// <summary>True when the recipe may give a <c>prompt:</c> section.</summary>
    public virtual bool UsesPrompt => true;

    /// <summary>True when <c>prompt.chat: auto</c> (the model's own chat template) is applied by this kind's runner.</summary>
    public virtual bool AppliesModelChatTemplate => false;

    /// <summary>True when the recipe may name a <c>judge:</c>.</summary>
    public virtual bool UsesJudge => true;

    /// <summary>True when the recipe may list <c>metrics:</c>.</summary>
    public virtual bool UsesMetrics => true;

    /// <summary>True when <c>metrics:</c> must list at least one metric.</summary>
    public virtual bool RequiresMetrics => false;

    /// <summary>What this kind's metrics are called in messages, e.g. <c>sample estimator</c>.</summary>
    public virtual string MetricNoun => "metric";

    /// <summary>True when <paramref name="metric"/> may be listed in this kind's <c>metrics:</c>.</summary>
    public abstract bool Accepts(IMetricFactory metric);

    /// <summary>The <c>generation:</c> keys the kind honours; a recipe that sets another is refused at that key. Null = all of them.</summary>
    public virtual IReadOnlySet<string>? GenerationKeys => null;

    /// <summary>True when the recipe may have an <c>analysis:</c> section.</summary>
    public virtual bool UsesAnalysis => true;

    /// <summary>The options of <c>analysis:</c>, validated and defaulted like a metric's; null when <c>analysis:</c> is a free-form
    /// map (an entry named after a catalog metric then holds that metric's options).</summary>
    public virtual IReadOnlyList<OptionSpec>? AnalysisOptions => null;

    /// <summary>Runs (or resumes) a validated recipe of this kind: writes the run folder's records and <c>summary.json</c> (never
    /// reading back what it wrote), and says what <c>attneval run</c> prints. It does not render: <c>report.html</c> comes from the
    /// report pipeline (<c>AttnEval.Reporting.RunReport.Write</c>) through <see cref="RenderHtml"/>.</summary>
    /// <exception cref="RunInputException">Bad input found once the run started (an unreadable dataset, a model that does not load).</exception>
    /// <exception cref="Runs.RunFolderException">The resumed folder belongs to another recipe or model.</exception>
    /// <exception cref="OperationCanceledException">Cancelled; finished work stays in the folder.</exception>
    public abstract RunOutcome Run(RecipeRunRequest request, CancellationToken cancellationToken = default);

    /// <summary>The text of <c>report.html</c> for a finished run folder of this kind, from its files alone.</summary>
    /// <param name="runDir">The run folder.</param>
    /// <param name="figures">Figure files present under <c>plots/</c> (relative, '/'-separated); the page shows those it knows.</param>
    public abstract string RenderHtml(string runDir, IReadOnlyCollection<string> figures);

    /// <summary>The recipe's kind name in messages: <c>kind 'head-attribution'</c>.</summary>
    public override string ToString() => $"kind '{Name}'";
}

/// <summary>What a run needs besides the recipe.</summary>
/// <param name="Recipe">A validated recipe (its <see cref="Recipe.Kind"/> names the kind that runs it).</param>
/// <param name="Catalog">The parts the recipe names (backends, metrics, judges, similarity models).</param>
/// <param name="ResumeDir">A run folder to continue, or null for a new run under <c>output.dir</c>.</param>
/// <param name="Observer">Progress; null = none.</param>
/// <param name="Services">Host services a kind may use (e.g. the confidence middleware of agent evaluations); null = none.</param>
public sealed record RecipeRunRequest(Recipe Recipe, IComponentCatalog Catalog, string? ResumeDir = null, IRunObserver? Observer = null,
    IServiceProvider? Services = null);

/// <summary>What a finished run says.</summary>
/// <param name="RunDir">The run folder (full path).</param>
/// <param name="Lines">What <c>attneval run</c> prints on standard output: the headline table.</param>
/// <param name="Problems">What it prints on standard error: analyses that failed or found nothing.</param>
/// <param name="Failed">True when the run finished but supports no finding (the CLI exits 1; the records are kept).</param>
public sealed record RunOutcome(string RunDir, IReadOnlyList<string> Lines, IReadOnlyList<string> Problems, bool Failed = false);
