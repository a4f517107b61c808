using AttnEval.Abstractions;

namespace AttnEval.Metrics.ReasoningRhythm.Tests;

/// <summary>
/// Hand-built causal attention, fed through <see cref="RhythmReducer"/> in row blocks as a backend delivers them, with
/// d, WAAD and FAI worked out by hand. Sequence: N = 5 positions, prompt P = 2 (positions 0, 1), response R = {2, 3, 4}.
/// W = 2, horizon [H_lo, H_hi] = [1, 2].
/// </summary>
public sealed class ReducerTests
{
    private const int P = 2, N = 5, W = 2, HLo = 1, HHi = 2;

    // Layer 0, head 0 ("local"): rows t = 0..4 (prompt rows are ignored by the reducer, but a backend sends them).
    //   t=2: A = [0, 0, 1]               → Σ A·(t−s) = 0                ; Σ A·min(t−s,2) = 0
    //   t=3: A = [0, 0, .5, .5]          → .5·1 = .5                    ; .5·1 = .5
    //   t=4: A = [0, 0, 0, .5, .5]       → .5·1 = .5                    ; .5·1 = .5
    //   d(0,0) = (0 + .5 + .5) / 3 = 1/3
    private static readonly float[][] L0H0 = [[1], [.5f, .5f], [0, 0, 1], [0, 0, .5f, .5f], [0, 0, 0, .5f, .5f]];
    // Layer 0, head 1 ("global"):
    //   t=2: A = [1, 0, 0]               → 1·2 = 2                      ; 1·min(2,2) = 2
    //   t=3: A = [.5, 0, .5, 0]          → .5·3 + .5·1 = 2              ; .5·2 + .5·1 = 1.5
    //   t=4: A = [.25, 0, .25, .5, 0]    → .25·4 + .25·2 + .5·1 = 2     ; .25·2 + .25·2 + .5·1 = 1.5
    //   d(0,1) = (2 + 2 + 2) / 3 = 2
    private static readonly float[][] L0H1 = [[1], [1, 0], [1, 0, 0], [.5f, 0, .5f, 0], [.25f, 0, .25f, .5f, 0]];
    // Layer 1, head 0 (previous token): t=2,3,4 attend s = t−1 → d = 1, per-row WAAD term 1.
    private static readonly float[][] L1H0 = [[1], [1, 0], [0, 1, 0], [0, 0, 1, 0], [0, 0, 0, 1, 0]];
    // Layer 1, head 1 (BOS sink): every row attends s = 0 → distances 2, 3, 4 → d = 3; WAAD terms min(·,2) = 2, 2, 2;
    //   it never attends a response source, so its FAI sums are 0.
    private static readonly float[][] L1H1 = [[1], [1, 0], [1, 0, 0], [1, 0, 0, 0], [1, 0, 0, 0, 0]];

    // FAI sources s ∈ R with T(s) = { t ∈ R : s+1 ≤ t ≤ min(4, s+2) }:
    //   s=2: T = {3, 4} (|T| = 2);  s=3: T = {4} (|T| = 1);  s=4: T = ∅ → undefined.
    //   head (0,1): column sums A[3,2] + A[4,2] = .5 + .25 = .75 ; A[4,3] = .5
    //   head (0,0): A[3,2] + A[4,2] = .5 + 0 = .5 ; A[4,3] = .5

    /// <summary>Delivers one layer's heads as two prefill chunks (rows 0–2 with 3 keys, rows 3–4 with 5 keys).</summary>
    private static void Feed(IAttentionRowReducer r, int layer, params float[][][] heads)
    {
        Deliver(r, layer, 0, 3, 3, heads);
        Deliver(r, layer, 3, 2, 5, heads);
    }

    /// <summary>Delivers rows one at a time with KeyLength = t + 1, as a decoding backend does.</summary>
    private static void FeedDecode(IAttentionRowReducer r, int layer, params float[][][] heads)
    {
        for (int t = 0; t < N; t++) Deliver(r, layer, t, 1, t + 1, heads);
    }

    private static void Deliver(IAttentionRowReducer r, int layer, int start, int count, int keys, float[][][] heads)
    {
        var w = new float[heads.Length * count * keys];
        for (int h = 0; h < heads.Length; h++)
            for (int i = 0; i < count; i++)
            {
                var row = heads[h][start + i];
                for (int s = 0; s < row.Length && s < keys; s++) w[(h * count + i) * keys + s] = row[s];
            }
        r.Accept(new AttentionRowBlock(0, layer, start, count, heads.Length, keys, w));
    }

    [Fact]
    public void One_layer_two_heads_gives_the_hand_computed_d_WAAD_and_FAI()
    {
        var r = new RhythmReducer([0], 2, P, N, W, HLo, HHi);
        Feed(r, 0, L0H0, L0H1);
        r.Check();
        r.MeanDistance(0).Should().BeApproximately(1.0 / 3, 1e-9);
        r.MeanDistance(1).Should().BeApproximately(2.0, 1e-9);
        r.HorizonSize(0).Should().Be(2);
        r.HorizonSize(1).Should().Be(1);
        r.HorizonSize(2).Should().Be(0);

        // group_fraction 0.5 of 2 heads → 1 head each: H_loc = {0-0} (d 1/3), H_glob = {0-1} (d 2).
        var s = RhythmMath.Combine(r, 0.5);
        s.Local.Should().Equal(new HeadId(0, 0));
        s.Global.Should().Equal(new HeadId(0, 1));
        // WAAD = head (0,0)'s terms: [0, .5, .5]
        s.Waad.Should().Equal([0, 0.5, 0.5], (a, b) => Math.Abs(a - b) < 1e-9);
        // FAI = head (0,1): s=2: .75 / 2 = .375 ; s=3: .5 / 1 = .5 ; s=4: undefined
        s.Fai[0].Should().BeApproximately(0.375, 1e-9);
        s.Fai[1].Should().BeApproximately(0.5, 1e-9);
        s.Fai[2].Should().BeNull();
    }

    [Fact]
    public void Group_means_average_heads_of_two_layers()
    {
        var r = new RhythmReducer([0, 1], 2, P, N, W, HLo, HHi);
        Feed(r, 0, L0H0, L0H1);
        Feed(r, 1, L1H0, L1H1);
        r.Check();
        // d: 0-0 = 1/3, 0-1 = 2, 1-0 = 1, 1-1 = 3. group_fraction 0.5 of 4 → 2 heads each.
        var s = RhythmMath.Combine(r, 0.5);
        s.Local.Should().Equal(new HeadId(0, 0), new HeadId(1, 0));    // d 1/3, 1
        s.Global.Should().Equal(new HeadId(1, 1), new HeadId(0, 1));   // d 3, 2
        s.Distances[new HeadId(1, 1)].Should().BeApproximately(3, 1e-9);
        // WAAD_t = mean of (0,0) and (1,0): t=2: (0+1)/2 = .5 ; t=3: (.5+1)/2 = .75 ; t=4: (.5+1)/2 = .75
        s.Waad.Should().Equal([0.5, 0.75, 0.75], (a, b) => Math.Abs(a - b) < 1e-9);
        // FAI_s = mean of (1,1) (all 0) and (0,1): s=2: (0 + .375)/2 = .1875 ; s=3: (0 + .5)/2 = .25 ; s=4: undefined
        s.Fai[0].Should().BeApproximately(0.1875, 1e-9);
        s.Fai[1].Should().BeApproximately(0.25, 1e-9);
        s.Fai[2].Should().BeNull();

        // group_fraction 0.25 of 4 → 1 head each: H_loc = {0-0}, H_glob = {1-1}: WAAD [0, .5, .5], FAI [0, 0, null].
        var q = RhythmMath.Combine(r, 0.25);
        q.Local.Should().Equal(new HeadId(0, 0));
        q.Global.Should().Equal(new HeadId(1, 1));
        q.Waad.Should().Equal([0, 0.5, 0.5], (a, b) => Math.Abs(a - b) < 1e-9);
        q.Fai.Should().Equal(0.0, 0.0, null);
    }

    [Fact]
    public void Decode_style_rows_give_the_same_numbers_as_prefill_chunks()
    {
        var a = new RhythmReducer([0, 1], 2, P, N, W, HLo, HHi);
        Feed(a, 0, L0H0, L0H1); Feed(a, 1, L1H0, L1H1);
        var b = new RhythmReducer([0, 1], 2, P, N, W, HLo, HHi);
        FeedDecode(b, 0, L0H0, L0H1); FeedDecode(b, 1, L1H0, L1H1);
        var sa = RhythmMath.Combine(a, 0.5);
        var sb = RhythmMath.Combine(b, 0.5);
        sb.Waad.Should().Equal(sa.Waad);
        sb.Fai.Should().Equal(sa.Fai);
        sb.Local.Should().Equal(sa.Local);
    }

    [Fact]
    public void Window_clips_long_distances()
    {
        // W = 1: head (0,1)'s WAAD terms become t=2: 1·1 = 1 ; t=3: .5·1 + .5·1 = 1 ; t=4: .25 + .25 + .5 = 1.
        var r = new RhythmReducer([0], 2, P, N, window: 1, HLo, HHi);
        Feed(r, 0, L0H0, L0H1);
        Enumerable.Range(0, 3).Select(i => r.HeadWaad(1, i)).Should().Equal([1, 1, 1], (a, b) => Math.Abs(a - b) < 1e-9);
        // d does not depend on W.
        r.MeanDistance(1).Should().BeApproximately(2, 1e-9);
    }

    [Fact]
    public void Layers_outside_the_sample_are_ignored_and_missing_or_repeated_rows_are_refused()
    {
        var r = new RhythmReducer([1], 2, P, N, W, HLo, HHi);
        r.Layers.Should().BeEquivalentTo([1]);
        Feed(r, 0, L0H0, L0H1);                       // not sampled: ignored
        var missing = () => r.Check();
        missing.Should().Throw<InvalidOperationException>().WithMessage("*position 2 of layer 1*");
        Deliver(r, 1, 0, 3, 3, [L1H0, L1H1]);
        var again = () => Deliver(r, 1, 2, 1, 3, [L1H0, L1H1]);
        again.Should().Throw<InvalidOperationException>().WithMessage("*row 2 of layer 1 twice*");
        Deliver(r, 1, 3, 2, 5, [L1H0, L1H1]);
        r.Check();
        r.MeanDistance(0).Should().BeApproximately(1, 1e-9);
        r.MeanDistance(1).Should().BeApproximately(3, 1e-9);
    }
}
