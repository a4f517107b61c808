using AttnEval.Abstractions;

namespace AttnEval.Metrics.SafetyHeads;

/// <summary>One step of Sahara's search: every candidate's score with it added to the set found so far, and the one chosen.</summary>
/// <param name="Step">1-based step number.</param>
/// <param name="Chosen">The head added at this step (highest score; ties to the lowest head id).</param>
/// <param name="Score">Its score: generalized Ships of the set after this step.</param>
/// <param name="Scores">Score of <c>G ∪ {h}</c> for every candidate h not yet in G (NaN where undefined).</param>
internal sealed record SaharaStep(int Step, HeadId Chosen, double Score, IReadOnlyDictionary<HeadId, double> Scores);

/// <summary>
/// Sahara, the greedy safety-head-set search (Zhou et al. 2024, arXiv 2410.13708, §4.1, "Safety Attention Head AttRibution
/// Algorithm"; specs/head-methods.md §2.4): start from G = ∅; at each of S steps score <c>G ∪ {h}</c> for every head h not
/// in G by generalized Ships on the harmful set, and add the best. Cost: S · |candidates| · n forward passes.
/// </summary>
internal static class SaharaSearch
{
    /// <summary>Runs the search.</summary>
    /// <param name="candidates">Heads that may join the set (all L × H heads in the reference), distinct.</param>
    /// <param name="steps">S ≥ 1 (reference default 1; the paper searches up to 5 and reports ~3 heads).</param>
    /// <param name="score">Generalized Ships of a head set (higher = the set moves the safety representation more); NaN
    /// counts as the lowest score.</param>
    /// <param name="resumed">A step already finished in an earlier attempt (by 1-based step), or null to compute it.</param>
    /// <param name="stepDone">Called after each computed step (to persist it).</param>
    /// <param name="cancellationToken">Checked before every candidate.</param>
    /// <returns>The steps in order; the set found is their <see cref="SaharaStep.Chosen"/> heads.</returns>
    /// <exception cref="ArgumentException">steps &lt; 1, duplicate candidates, or fewer candidates than steps.</exception>
    public static IReadOnlyList<SaharaStep> Run(IReadOnlyList<HeadId> candidates, int steps, Func<IReadOnlyList<HeadId>, double> score,
        Func<int, SaharaStep?>? resumed = null, Action<SaharaStep>? stepDone = null, CancellationToken cancellationToken = default)
    {
        if (steps < 1) throw new ArgumentException($"Sahara needs at least one step, got {steps}", nameof(steps));
        if (candidates.Distinct().Count() != candidates.Count) throw new ArgumentException("Sahara candidates must be distinct heads", nameof(candidates));
        if (candidates.Count < steps) throw new ArgumentException($"Sahara cannot take {steps} steps over {candidates.Count} candidate heads", nameof(steps));
        var set = new List<HeadId>();
        var result = new List<SaharaStep>();
        for (int step = 1; step <= steps; step++)
        {
            var done = resumed?.Invoke(step);
            if (done is null)
            {
                var scores = new Dictionary<HeadId, double>();
                foreach (var h in candidates)
                {
                    if (set.Contains(h)) continue;
                    cancellationToken.ThrowIfCancellationRequested();
                    scores[h] = score([.. set, h]);
                }
                var best = scores.OrderByDescending(kv => double.IsNaN(kv.Value) ? double.NegativeInfinity : kv.Value).ThenBy(kv => kv.Key).First();
                done = new SaharaStep(step, best.Key, best.Value, scores);
                stepDone?.Invoke(done);
            }
            else if (done.Step != step || set.Contains(done.Chosen))
                throw new InvalidDataException($"resumed Sahara step {done.Step} (head {done.Chosen}) does not continue the set {string.Join(" ", set)} at step {step}");
            set.Add(done.Chosen);
            result.Add(done);
        }
        return result;
    }
}
