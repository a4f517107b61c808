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

    /// <summary>A record object: the <paramref name="leading"/> fields first (e.g. its <c>id</c>), then every other field of
    /// <paramref name="fields"/> in its order (keys already given are skipped), each value through <see cref="ToNode"/>.</summary>
    public static JsonObject Record(IReadOnlyDictionary<string, object?> fields, params (string Key, JsonNode? Value)[] leading)
    {
        var node = new JsonObject();
        foreach (var (k, v) in leading) node[k] = v;
        foreach (var (k, v) in fields)
            if (!node.ContainsKey(k)) node[k] = ToNode(v);
        return node;
    }

    /// <summary>The <c>id</c> a plugin gave a record, as invariant text; null when it gave none.</summary>
    public static string? IdOf(IReadOnlyDictionary<string, object?> fields) =>
        fields.TryGetValue("id", out var v) && v is not null ? Convert.ToString(v, System.Globalization.CultureInfo.InvariantCulture) : null;

    private static JsonObject ObjectOf(System.Collections.IDictionary d)
    {
        var o = new JsonObject();
        var e = d.GetEnumerator();   // IDictionaryEnumerator: DictionaryEntry items whatever the generic type
        while (e.MoveNext())
            o[Convert.ToString(e.Key, System.Globalization.CultureInfo.InvariantCulture)!] = ToNode(e.Value);
        return o;
    }
}
