using System.Text.Json;
using System.Text.Json.Nodes;

namespace AttnEval.Core.Running;

/// <summary>Turns plugin-supplied detail dictionaries into JSON nodes; non-finite doubles become null.</summary>
internal static class JsonSerializerHelpers
{
    private static readonly JsonSerializerOptions Options = new() { NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals };

    public static JsonNode? ToNode(object? value) => value switch
    {
        null => null,
        double d => double.IsFinite(d) ? JsonValue.Create(d) : null,
        float f => float.IsFinite(f) ? JsonValue.Create((double)f) : null,
        string s => JsonValue.Create(s),
        bool b => JsonValue.Create(b),
        int or long or short or byte => JsonValue.Create(Convert.ToInt64(value, System.Globalization.CultureInfo.InvariantCulture)),
        IReadOnlyDictionary<string, object?> d => new JsonObject(d.Select(kv => KeyValuePair.Create(kv.Key, ToNode(kv.Value)))),
        // Any other dictionary (Dictionary<string, double?>, …) is an object too, keyed by its keys' invariant text — not the
        // array of {Key, Value} pairs the enumerable case below would make of it.
        System.Collections.IDictionary d => ObjectOf(d),
        System.Collections.IEnumerable e => new JsonArray(e.Cast<object?>().Select(ToNode).ToArray()),
        _ => JsonSerializer.SerializeToNode(value, Options),
    };

    private static JsonObject ObjectOf(System.Collections.IDictionary d)
    {
        var o = new JsonObject();
        var e = d.GetEnumerator();   // IDictionaryEnumerator: DictionaryEntry items whatever the generic type
        while (e.MoveNext())
            o[Convert.ToString(e.Key, System.Globalization.CultureInfo.InvariantCulture)!] = ToNode(e.Value);
        return o;
    }
}
