namespace AttnEval.Samples.LabModel;

/// <summary>The training schedule of the shipped model (see the model card for why).</summary>
internal static class Plan
{
    /// <summary>The full schedule; <paramref name="scale"/> multiplies every phase's steps (for dry runs).</summary>
    public static IReadOnlyList<Phase> Full(double scale)
    {
        int S(int steps) => Math.Max(1, (int)Math.Round(steps * scale));
        return
        [
            new("lookup-warmup", S(1500), 64, 96, new Mix(0, 0.7, 0, 0, 0.3), 2, 16, 6, 24, 1.5e-3),
            new("mix", S(4000), 32, 192, new Mix(0.4, 0.2, 0.15, 0.15, 0.1), 2, 64, 4, 24, 1.5e-3),
            new("anneal", S(1000), 32, 192, new Mix(0.4, 0.2, 0.15, 0.15, 0.1), 2, 64, 4, 24, 1.5e-3, 0.1),
        ];
    }
}
