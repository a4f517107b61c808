namespace AttnEval.Metrics.SafetyHeads.Tests;

/// <summary>Ships KL and generalized-Ships principal angles on hand-computed values.</summary>
public sealed class ShipsMathTests
{
    [Fact]
    public void Kl_of_two_coins_matches_the_hand_computed_value()
    {
        // KL([.5,.5] ‖ [.9,.1]) = .5 ln(.5/.9) + .5 ln(.5/.1) = .5 (−0.5877866649) + .5 (1.6094379124) = 0.5108256238
        ShipsMath.KlDivergence([0.5, 0.5], [0.9, 0.1]).Should().BeApproximately(0.5108256238, 1e-9);
        // and the other direction differs: .9 ln(.9/.5) + .1 ln(.1/.5) = .9 (0.5877866649) + .1 (−1.6094379124) = 0.3680642071
        ShipsMath.KlDivergence([0.9, 0.1], [0.5, 0.5]).Should().BeApproximately(0.3680642071, 1e-9);
    }

    [Fact]
    public void Kl_of_a_distribution_with_itself_is_exactly_zero()
    {
        double[] p = [0.1, 0.2, 0.3, 0.4];
        ShipsMath.KlDivergence(p, p).Should().Be(0);
    }

    [Fact]
    public void Smoothing_makes_disjoint_supports_finite_as_in_the_reference()
    {
        // p̃ = [1+s, s], q̃ = [s, 1+s], s = 1e-12: (1+s) ln((1+s)/s) + s ln(s/(1+s)) = ln(1e12) + O(1e-11) = 27.6310211159
        ShipsMath.KlDivergence([1, 0], [0, 1]).Should().BeApproximately(27.631021115928547, 1e-9);
        ShipsMath.KlDivergence([1, 0], [0, 1], smoothing: 0).Should().Be(double.PositiveInfinity);
        ShipsMath.KlDivergence([0, 1], [0.5, 0.5], smoothing: 0).Should().BeApproximately(Math.Log(2), 1e-12);   // 0·ln 0 = 0
    }

    [Fact]
    public void Kl_rejects_bad_input()
    {
        FluentActions.Invoking(() => ShipsMath.KlDivergence([0.5, 0.5], [1.0])).Should().Throw<ArgumentException>().WithMessage("*same vocabulary*2*1*");
        FluentActions.Invoking(() => ShipsMath.KlDivergence([], [])).Should().Throw<ArgumentException>();
        FluentActions.Invoking(() => ShipsMath.KlDivergence([1.0], [1.0], -1)).Should().Throw<ArgumentException>().WithMessage("*smoothing*");
    }

    [Fact]
    public void Probabilities_are_a_softmax_of_the_log_probs()
    {
        ShipsMath.Probabilities([Math.Log(2), 0, 0]).Should().Equal([0.5, 0.25, 0.25], (a, b) => Math.Abs(a - b) < 1e-15);
        ShipsMath.Probabilities([0, 0, double.NegativeInfinity]).Should().Equal(0.5, 0.5, 0);
        // float32 log-probs whose exponentials sum to 1 + 3e-7 are renormalised
        ShipsMath.Probabilities([Math.Log(0.5000003), Math.Log(0.5)]).Sum().Should().BeApproximately(1, 1e-15);
        FluentActions.Invoking(() => ShipsMath.Probabilities([double.NegativeInfinity])).Should().Throw<ArgumentException>();
    }

    [Fact]
    public void Centered_log_probs_are_the_centered_logits()
    {
        // logits z = [ln 2, 0, 0] → p = [.5, .25, .25]; z − mean(z) = ln2 · [2/3, −1/3, −1/3]
        var c = ShipsMath.Centered([Math.Log(0.5), Math.Log(0.25), Math.Log(0.25)]);
        c.Should().Equal([Math.Log(2) * 2 / 3, -Math.Log(2) / 3, -Math.Log(2) / 3], (a, b) => Math.Abs(a - b) < 1e-12);
    }

    [Fact]
    public void Rotating_the_sample_space_by_30_degrees_turns_the_left_vector_by_30_degrees_and_leaves_the_right_one()
    {
        double[][] m = [[3, 0], [0, 1]];                    // u1 = e1, v1 = e1
        double c = Math.Cos(Math.PI / 6), s = Math.Sin(Math.PI / 6);
        double[][] rotatedRows = [[3 * c, -1 * s], [3 * s, 1 * c]];   // R·M, R = rotation by 30° in sample space
        GeneralizedShips.Angle(m, rotatedRows).Should().BeApproximately(30, 1e-9);
        GeneralizedShips.Angle(m, rotatedRows, degrees: false).Should().BeApproximately(Math.PI / 6, 1e-11);
        GeneralizedShips.Angle(m, rotatedRows, subspace: SingularSubspace.Right).Should().BeApproximately(0, 1e-6);
    }

    [Fact]
    public void Rotating_the_feature_space_by_40_degrees_turns_only_the_right_vector()
    {
        double[][] m = [[3, 0, 0], [0, 1, 0]];
        double c = Math.Cos(40 * Math.PI / 180), s = Math.Sin(40 * Math.PI / 180);
        // M·Q with Q the rotation by 40° in the (e1, e3) plane of feature space
        double[][] mq = [[3 * c, 0, 3 * s], [0, 1, 0]];
        GeneralizedShips.Angle(m, mq, subspace: SingularSubspace.Right).Should().BeApproximately(40, 1e-6);
        GeneralizedShips.Angle(m, mq).Should().BeApproximately(0, 1e-6);
    }

    [Fact]
    public void Rank_two_sums_the_principal_angles()
    {
        // left span of M is span(e1, e2); R rotates e2 towards e3 by 60° → principal angles 0° and 60°
        double[][] m = [[3, 0], [0, 2], [0, 0]];
        double c = Math.Cos(Math.PI / 3), s = Math.Sin(Math.PI / 3);
        double[][] rm = [[3, 0], [0, 2 * c], [0, 2 * s]];
        GeneralizedShips.Angle(m, rm, rank: 2).Should().BeApproximately(60, 1e-6);
        GeneralizedShips.Angle(m, rm, rank: 1).Should().BeApproximately(0, 1e-6);
    }

    [Fact]
    public void The_angle_ignores_sign_and_scale_and_is_undefined_for_a_zero_matrix()
    {
        double[][] m = [[1, 2], [3, 4], [5, 7]];
        GeneralizedShips.Angle(m, m.Select(r => r.Select(x => -2.5 * x).ToArray()).ToArray()).Should().BeApproximately(0, 1e-6);
        double.IsNaN(GeneralizedShips.Angle(m, [[0, 0], [0, 0], [0, 0]])).Should().BeTrue();
    }

    [Fact]
    public void Generalized_ships_rejects_bad_shapes()
    {
        FluentActions.Invoking(() => GeneralizedShips.Angle([[1, 0]], [[1, 0], [0, 1]])).Should().Throw<ArgumentException>().WithMessage("*1×2*2×2*");
        FluentActions.Invoking(() => GeneralizedShips.Angle([[1, 0], [0, 1]], [[1, 0], [0, 1]], rank: 3)).Should().Throw<ArgumentException>().WithMessage("*rank*[1, 2]*");
        FluentActions.Invoking(() => GeneralizedShips.Angle([[1, 0], [0]], [[1, 0], [0, 1]])).Should().Throw<ArgumentException>().WithMessage("*row 1*");
    }
}
