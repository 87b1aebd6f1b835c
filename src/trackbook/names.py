"""Default run names: two words picked from the run id, easier to say than hex."""

from __future__ import annotations

ADJECTIVES = (
    "amber", "bold", "brisk", "calm", "clever", "crisp", "dapper", "eager", "fair", "fleet",
    "gentle", "glad", "golden", "grand", "happy", "hardy", "jolly", "keen", "kind", "lively",
    "lucid", "mellow", "merry", "mighty", "neat", "nimble", "noble", "plucky", "polite", "proud",
    "quick", "quiet", "rapid", "ready", "rosy", "rustic", "sharp", "shiny", "silent", "silver",
    "sleek", "smooth", "snug", "solid", "spry", "steady", "sturdy", "sunny", "swift", "tidy",
    "trusty", "vivid", "warm", "wise", "witty", "young", "zany", "zesty", "brave", "breezy",
    "cosmic", "dusky", "lunar", "misty",
)
NOUNS = (
    "otter", "falcon", "badger", "heron", "lynx", "marten", "osprey", "panda", "puffin", "raven",
    "robin", "salmon", "seal", "sparrow", "stoat", "swift", "tiger", "trout", "walrus", "wren",
    "yak", "zebra", "bison", "crane", "dingo", "eagle", "ferret", "gecko", "hare", "ibis",
    "jaguar", "koala", "lemur", "moose", "newt", "okapi", "owl", "pika", "quail", "rhino",
    "shrew", "tapir", "vole", "wombat", "beaver", "coyote", "dolphin", "egret", "finch", "gibbon",
    "hyena", "iguana", "jackal", "kiwi", "llama", "magpie", "narwhal", "ocelot", "pelican",
    "quokka", "gazelle", "starling", "toucan", "viper",
)


def default_name(run_id: str) -> str:
    """``run_id`` -> e.g. ``brisk-otter-3f``: stable, and unlikely to repeat in one experiment."""
    bits = int(run_id[:8], 16)
    adjective = ADJECTIVES[bits % len(ADJECTIVES)]
    noun = NOUNS[(bits // len(ADJECTIVES)) % len(NOUNS)]
    return f"{adjective}-{noun}-{run_id[8:10]}"
