using AttnEval.Core.Running;

namespace AttnEval.Core.Tests.Running;

/// <summary>What plugins hand the host (records, summaries) becomes JSON of the same shape.</summary>
public sealed class JsonSerializerHelpersTests
{
    [Fact]
    public void Typed_dictionaries_stay_objects_and_non_finite_numbers_become_null()
    {
        var value = new Dictionary<string, object?>
        {
            ["by_head"] = new Dictionary<string, double?> { ["0-1"] = 0.5, ["2-3"] = null, ["1-0"] = double.NaN },
            ["counts"] = new SortedDictionary<int, long> { [3] = 7, [1] = 2 },
            ["list"] = new List<double> { 1.5, double.PositiveInfinity },
        };
        JsonSerializerHelpers.ToNode(value)!.ToJsonString().Should().Be(
            """{"by_head":{"0-1":0.5,"2-3":null,"1-0":null},"counts":{"1":2,"3":7},"list":[1.5,null]}""");
    }
}
