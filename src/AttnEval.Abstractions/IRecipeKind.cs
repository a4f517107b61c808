namespace AttnEval.Abstractions;

/// <summary>
/// A kind of recipe (<c>kind: &lt;Name&gt;</c>) that a plugin brings, with its own runner and report (contract 1.5). Register it in
/// <see cref="IAttnEvalPlugin.ConfigureServices"/> as a singleton <see cref="IRecipeKind"/>; the host validates a recipe of this
/// kind (its <c>model</c>, <c>dataset</c>, <c>prompt</c>, <c>metrics</c> and <c>analysis</c> sections, the last against
/// <see cref="Options"/>), loads the model, opens or resumes the run folder, calls <see cref="Run"/>, writes <c>summary.json</c>
/// from what it returns, and wraps <see cref="RenderReport"/>'s fragment in the report page. A library host runs it like a
/// built-in kind.
/// </summary>
public interface IRecipeKind
{
    /// <summary>The recipe spelling, kebab-case (e.g. <c>reasoning-rhythm</c>); a name the host already has (a built-in kind or an
    /// earlier plugin's) is refused at load with a message naming both owners.</summary>
    string Name { get; }

    /// <summary>One line: what a run of this kind measures, with its source (paper, section).</summary>
    string Description { get; }

    /// <summary>The options of the recipe's <c>analysis:</c> section, validated and defaulted like a metric's (any other key is an
    /// error that names its line); they reach <see cref="Run"/> as <see cref="RecipeKindContext.Options"/>.</summary>
    IReadOnlyList<OptionSpec> Options { get; }

    /// <summary>The sections a recipe of this kind needs or may have; see <see cref="RecipeKindInputs"/>.</summary>
    RecipeKindInputs Inputs { get; }

    /// <summary>True when a catalog metric may be listed in this kind's <c>metrics:</c> (only asked when <see cref="Inputs"/> has
    /// <see cref="RecipeKindInputs.Metrics"/>); the recipe loader names the refused metric and its kind. Default: none.</summary>
    /// <param name="metric">A metric factory of the catalog.</param>
    bool Accepts(IMetricFactory metric) => false;

    /// <summary>Checks the options against the loaded model before any run folder exists (e.g. a layer the model does not have), so
    /// a refusal leaves nothing behind and names the recipe file. Default: nothing to check.</summary>
    /// <param name="options">The validated <c>analysis:</c> options.</param>
    /// <param name="model">The loaded model.</param>
    /// <exception cref="ArgumentException">An option the model cannot serve; start the message with <c>analysis.&lt;key&gt;:</c>.</exception>
    /// <exception cref="NotSupportedException">The model lacks a capability the kind needs (e.g. attention capture).</exception>
    void CheckModel(OptionValues options, ILanguageModel model) { }

    /// <summary>Runs (or, with <see cref="RecipeKindContext.ResumedRecords"/>, continues) the recipe on the loaded model.</summary>
    /// <param name="context">The model, dataset items, validated options, the recipe's metrics and the run folder.</param>
    /// <param name="cancellationToken">Stop at the next item; the records written so far stay, and the host writes no summary.</param>
    /// <returns>The run's result; the host stores it as <c>summary.json</c>'s <c>result</c> (with its status) and never re-reads
    /// the records it just wrote to make the summary.</returns>
    /// <exception cref="OperationCanceledException">Cancelled.</exception>
    /// <remarks>An exception other than cancellation fails the run (exit code 1) with its message; the records stay in the folder
    /// for <c>--resume</c>.</remarks>
    RecipeKindResult Run(RecipeKindContext context, CancellationToken cancellationToken = default);

    /// <summary>The body of <c>report.html</c> for a finished run: an HTML fragment (sections, tables, inline SVG) that the host
    /// places inside its page, under the run's title and model line, with the shared stylesheet (classes <c>num</c>, <c>note</c>,
    /// <c>verdict</c>, <c>table.data</c>). Called by <c>attneval run</c> and again by <c>attneval report</c>, from the files alone.</summary>
    /// <param name="report">The run's <c>summary.json</c> and records.</param>
    /// <returns>HTML text; every text taken from data must be HTML-encoded by the plugin.</returns>
    string RenderReport(RecipeKindReport report);

    /// <summary>The lines <c>attneval run</c> prints at the end of a run (a few: the headline numbers), from its result.
    /// Default: the conclusion, when there is one.</summary>
    /// <param name="result">What <see cref="Run"/> returned.</param>
    IReadOnlyList<string> SummaryLines(RecipeKindResult result) => result.Conclusion is { } c ? [c] : [];
}
