namespace AttnEval.Abstractions;

/// <summary>Factory of an agent evaluation (recipe kind <c>agent-robustness</c>). Added in contract 1.x (additive).</summary>
public interface IAgentEvaluationFactory : IMetricFactory
{
    /// <summary>Creates the evaluation with validated options. Also called once by the recipe loader to check the options (so <c>validate</c>
    /// reports them before any model loads): keep it cheap and free of side effects, and refuse what only the plugin can
    /// check with an <see cref="ArgumentException"/> whose message names the option, e.g.
    /// <c>metrics.&lt;name&gt;.&lt;key&gt;: …</c>.</summary>
    /// <exception cref="ArgumentException">An option value the plugin cannot use.</exception>
    /// <exception cref="ArgumentException">An option value the <see cref="OptionSpec"/>s cannot express is wrong
    /// (e.g. a malformed perturbation); the message names the option, the item and what was expected.</exception>
    IAgentEvaluation Create(OptionValues options);
}
