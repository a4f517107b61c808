namespace AttnEval.Samples.LabModel;

/// <summary>The training schedule of the shipped model (the model card explains it).</summary>
internal static class Plan
{
    /// <summary>The full schedule; <paramref name="scale"/> multiplies every phase's steps (for dry runs).</summary>
    /// <remarks>
    /// Phase 1 forms the copy circuit on short contexts (lookup with 2–16 records and several independent questions per
    /// sample, plus repeated random sequences): in the probe with this phase the smoothed lookup accuracy left chance at
    /// about step 590 and reached 1.0 by step 700. Phase 2 trains everything, with contexts up to 64 records. Phase 3 is
    /// the same mix with the learning rate annealed (cosine to 10%).
    /// </remarks>
    public static IReadOnlyList<Phase> Full(double scale)
    {
        int S(int steps) => Math.Max(1, (int)Math.Round(steps * scale));
        // Weights are normalised when a task is drawn (these sum to 0.95: arithmetic is 37% of the samples).
        var mix = new Mix(Arithmetic: 0.35, Lookup: 0.2, Search: 0.15, Refusal: 0.15, Repeat: 0.1);
        return
        [
            new("lookup-warmup", S(800), 64, 128, new Mix(0, 0.5, 0.2, 0.05, 0.25), 2, 16, 4, 24, 1.5e-3),
            new("mix", S(2600), 32, 192, mix, 2, 64, 3, 24, 1.5e-3),
            new("anneal", S(700), 32, 192, mix, 2, 64, 3, 24, 1.5e-3, 0.1),
        ];
    }
}
