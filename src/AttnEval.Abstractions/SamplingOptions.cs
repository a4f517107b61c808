namespace AttnEval.Abstractions;

/// <summary>Decoding settings. <c>Temperature = 0</c> is greedy (argmax, ties to the lowest id).</summary>
/// <param name="Temperature">Softmax temperature, ≥ 0; 0 means greedy.</param>
/// <param name="TopP">Nucleus mass in (0, 1]; 1 disables.</param>
/// <param name="TopK">Keep the k most likely tokens; 0 disables.</param>
/// <param name="Seed">Seed of the sampler; same seed, same device → same tokens.</param>
public sealed record SamplingOptions(double Temperature = 0, double TopP = 1, int TopK = 0, long Seed = 0)
{
    /// <summary>Greedy decoding.</summary>
    public static SamplingOptions Greedy { get; } = new();
    /// <summary>True when <see cref="Temperature"/> is 0.</summary>
    public bool IsGreedy => Temperature == 0;
}
