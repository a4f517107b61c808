namespace AttnEval.Abstractions;

/// <summary>Factory of a per-sample estimator.</summary>
public interface ISampleEstimatorFactory : IMetricFactory
{
    /// <summary>Creates the estimator with validated options. Also called once by the recipe loader to check the options (so <c>validate</c>
    /// reports them before any model loads): keep it cheap and free of side effects, and refuse what only the plugin can
    /// check with an <see cref="ArgumentException"/> whose message names the option, e.g.
    /// <c>metrics.&lt;name&gt;.&lt;key&gt;: …</c>.</summary>
    /// <exception cref="ArgumentException">An option value the plugin cannot use.</exception>
    ISampleEstimator Create(OptionValues options);
}
