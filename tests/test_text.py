"""The caption tokenizer: its rules (v2: what shoppers type), its JSON spec with golden ids, its refusals,
and the v1 tokenizer older artifacts ship."""

import itertools
import json
import subprocess
import sys

import numpy as np
import pytest

from zoo.text import PAD_ID, UNK_ID, Tokenizer, TokenizerV1, one_edit_neighbours, within_one_edit, words

CAPTIONS = ["a red dress", "a dress in blue", "blue colored coat", "coat, red", "the t-shirt is red", "red sneaker", "a blue bag", "sandals, red", "a sandal in blue"]
SYNONYMS = {"frock": "dress", "crimson": "red", "navy": "blue", "tee shirt": "t shirt", "running shoe": "sneaker", "blue jean": "blue coat", "purse": "bag"}
KEYWORDS = ["red", "blue", "dress", "coat", "shirt", "sneaker", "bag", "sandal", "sandals"]


@pytest.fixture
def tokenizer():
    return Tokenizer.fit(CAPTIONS, max_length=4, synonyms=SYNONYMS, keywords=KEYWORDS, not_typos=["bed", "coal", "boat"])


def read(tokenizer, caption):
    return tokenizer.analyse(caption).words


def test_words_are_lowercase_runs_of_letters_with_apostrophes_deleted():
    assert words("T-shirt, RED!") == ["t", "shirt", "red"]
    assert words("  a  dress\tin\nblue ") == ["a", "dress", "in", "blue"]
    assert words("dress #2 in pink") == ["dress", "in", "pink"]
    assert words("don't, men’s") == ["dont", "mens"]
    assert words("café") == ["caf"]  # letters a-z only: anything else separates words


def test_the_vocabulary_holds_the_captions_words_without_fillers_most_frequent_first(tokenizer):
    assert tokenizer.vocabulary[:2] == ["<pad>", "<unk>"]
    assert tokenizer.vocabulary[2:4] == ["red", "blue"]  # 5 and 4 occurrences
    assert not {"a", "in", "the", "is", "colored"} & set(tokenizer.vocabulary)
    assert Tokenizer.fit(CAPTIONS).max_length == 3  # default: the longest reading, "t shirt red"
    assert set(tokenizer.synonyms) == set(SYNONYMS)  # every replacement is in the vocabulary


def test_capitals_punctuation_and_spaces_do_not_matter(tokenizer):
    for caption in ["A RED DRESS", "a red dress!!!", "  a   red\tdress  ", "A-Red-Dress?", "(red, dress.)"]:
        assert read(tokenizer, caption) == ["red", "dress"]


def test_fillers_are_dropped_silently(tokenizer):
    analysis = tokenizer.analyse("Could you please draw me a picture of the red dress?")
    assert analysis.words == ["red", "dress"] and analysis.unknown == [] and analysis.note() == ""


def test_plurals_read_as_the_singular_known_word(tokenizer):
    assert read(tokenizer, "red dresses") == ["red", "dress"]
    assert read(tokenizer, "blue bags") == ["blue", "bag"]
    assert read(tokenizer, "two red sneakers") == ["red", "sneaker"]
    assert read(tokenizer, "red sandals") == ["red", "sandals"]  # a vocabulary word reads as itself
    assert read(tokenizer, "crimson frocks") == ["red", "dress"]  # plural of a synonym
    assert read(tokenizer, "running shoes") == ["sneaker"]  # plural inside a phrase


@pytest.mark.parametrize(
    "typed, word",
    [("dres", "dress"), ("drress", "dress"), ("dreas", "dress"), ("rde", "red"), ("bleu", "blue"), ("sneakr", "sneaker"), ("snekaer", "sneaker"), ("crimsn", "crimson")],
)
def test_a_one_letter_typo_of_a_unique_known_word_is_corrected(tokenizer, typed, word):
    analysis = tokenizer.analyse(f"{typed} coat" if word != "coat" else typed)
    assert analysis.corrections == [(typed, word)]
    assert analysis.unknown == []


def test_typos_are_not_guessed_when_short_ambiguous_or_a_real_word(tokenizer):
    assert tokenizer.analyse("re coat").unknown == ["re"]  # two letters: too short
    assert tokenizer.analyse("red hat").unknown == ["hat"]  # its one match is a filler ("that"): ignored, not "corrected"
    assert tokenizer.analyse("bed coat").unknown == ["bed"]  # a real word (not_typos), not "red"
    assert tokenizer.analyse("red beds").unknown == ["beds"]  # the guard covers the plural too
    assert tokenizer.analyse("red boat").unknown == ["boat"]
    ambiguous = Tokenizer.fit(["a red bag", "a red bat"])
    assert ambiguous.analyse("red bas").unknown == ["bas"]  # "bag" or "bat" would be a guess
    assert ambiguous.analyse("red bas").corrections == []


def test_a_word_whose_ending_is_no_plural_is_not_read_as_a_typo_of_its_stem():
    """"a minus dress" was drawn green: rule 3 read "minus" as a plural, "minu", one letter from the
    synonym "mint" (green); "bonus" read as "bone" (white), "minutes" as "minut", "mint". A typo is
    corrected in the singular forms English spelling allows now: -es after s, x, z, ch or sh, -s not
    after s or u. Typed plurals with a typo are still read."""
    shop = Tokenizer.fit(["a green dress", "a white coat", "a red box"], max_length=4, synonyms={"mint": "green", "bone": "white"})
    for word in ("minus", "bonus", "minutes", "mintss"):
        analysis = shop.analyse(f"a {word} dress")
        assert (analysis.words, analysis.unknown, analysis.corrections) == (["dress"], [word], []), word
    assert shop.analyse("mnts dreses").words == ["green", "dress"]  # -s after t, -es after s: plurals
    assert shop.analyse("coatts, boxxes, grenes").corrections == [("coatts", "coat"), ("boxxes", "box"), ("grenes", "green")]
    assert shop.analyse("mints and bones").words == ["green", "white"]  # plurals of known words read as ever


def test_a_match_that_is_the_plural_of_another_is_the_same_word(tokenizer):
    assert tokenizer.analyse("red sandasl").corrections == [("sandasl", "sandal")]  # "sandals" too, by a swap


def test_synonyms_replace_phrases_longest_first_and_keep_the_colour(tokenizer):
    analysis = tokenizer.analyse("a navy tee shirt")
    assert analysis.words == ["blue", "t", "shirt"]
    assert analysis.synonyms == [("navy", "blue"), ("tee shirt", "t shirt")]
    assert read(tokenizer, "blue jeans") == ["blue", "coat"]  # phrase "blue jean" first, not "blue" then "jean"
    assert read(tokenizer, "a crimson purse") == ["red", "bag"]


def test_unknown_words_are_dropped_from_the_ids_and_reported(tokenizer):
    analysis = tokenizer.analyse("a zebra-striped red dress with pockets")
    assert analysis.words == ["red", "dress"]
    assert analysis.ids == [tokenizer.ids["red"], tokenizer.ids["dress"], PAD_ID, PAD_ID]
    assert UNK_ID not in analysis.ids
    assert analysis.unknown == ["zebra", "striped", "pockets"]
    assert analysis.note() == "Read 'a zebra-striped red dress with pockets' as 'red dress' (unknown words ignored: zebra, striped, pockets)."
    assert tokenizer.unknown_words("show me a zebra") == ["zebra"]  # reported even where the caption is refused
    note = tokenizer.analyse("sneakr in crimson").note()
    assert note == "Read 'sneakr in crimson' as 'sneaker red' (typos sneakr→sneaker; synonyms crimson→red)."


def test_a_typo_read_as_a_phrase_word_no_phrase_takes_is_told_as_unknown_not_as_a_typo(tokenizer):
    """"runnig" reads as "running" of "running shoe" (rule 3); alone, no phrase takes it and rule 5 drops it. The note
    told it twice, as "typos runnig→running" and as ignored, as the published card's did "ess" → "mess" (of "mess jacket")
    in "red dr\ufffdess": it tells it as unknown alone now, position by position. `corrections` (the golden contract)
    and the ids are as ever."""
    analysis = tokenizer.analyse("red runnig")
    assert analysis.ids == tokenizer.encode("red") and analysis.corrections == [("runnig", "running")] and analysis.unknown == ["runnig"]
    assert analysis.note() == "Read 'red runnig' as 'red' (unknown words ignored: runnig)." and analysis.typos == []
    analysis = tokenizer.analyse("runnig shoes, red runnig")  # the same typo twice: once in a phrase, once alone
    assert analysis.words == ["sneaker", "red"] and analysis.corrections == [("runnig", "running")] * 2 and analysis.unknown == ["runnig"]
    assert analysis.note() == "Read 'runnig shoes, red runnig' as 'sneaker red' (typos runnig→running; synonyms running shoe→sneaker; unknown words ignored: runnig)."
    assert tokenizer.analyse("red re\ufffdrunnig").note() == (
        "Read 'red re\ufffdrunnig' as 'red' (unknown words ignored: re, runnig; replacement characters not read: 1 × \ufffd — bytes that were not UTF-8)."
    )
    assert tokenizer.analyse("red runnigé").note() == "Read 'red runnigé' as 'red' (letters outside a-z not read: runnigé)."  # a piece of a word
    assert tokenizer.analyse("dres runnigé").note() == "Read 'dres runnigé' as 'dress' (typos dres→dress; letters outside a-z not read: runnigé)."


# The garments and colours of CAPTIONS, as card.json's class_nouns and colours give them.
GARMENTS = [["t-shirt", "tee"], ["dress", "gown"], ["coat", "jacket"], ["shirt", "blouse"], ["sneaker"], ["bag"], ["sandal", "sandals"]]
COLOURS = ["red", "blue"]


@pytest.fixture
def shop():
    return Tokenizer.fit(CAPTIONS, max_length=6, synonyms=SYNONYMS, keywords=KEYWORDS, garments=GARMENTS, colours=COLOURS)


def test_a_caption_naming_several_garments_or_colours_is_told_the_model_draws_one(shop):
    analysis = shop.analyse("a red dress and a blue shirt")
    assert analysis.words == ["red", "dress", "blue", "shirt"]  # read as ever: the note is advice, not the ids
    assert (analysis.garments, analysis.colours) == (["dress", "shirt"], ["red", "blue"])
    assert analysis.note() == (
        "Read 'a red dress and a blue shirt' as 'red dress blue shirt' "
        "(several garments: dress, shirt; several colours: red, blue — the model draws one garment in one colour per image)."
    )
    assert shop.analyse("a dress and a coat").note() == "Read 'a dress and a coat' as 'dress coat' (several garments: dress, coat — the model draws one garment per image)."
    assert shop.analyse("a red and blue coat").note() == "Read 'a red and blue coat' as 'red blue coat' (several colours: red, blue — the model draws one colour per image)."
    assert shop.analyse("a pink t-shirt and a shirt").garments == ["t-shirt", "shirt"]  # "t shirt" is the t-shirt, not a shirt
    assert shop.analyse("a crimson frock, red dress").note() == "Read 'a crimson frock, red dress' as 'red dress red dress' (synonyms crimson→red, frock→dress)."  # one garment, one colour
    assert shop.analyse("a blue t-shirt").note() == "" and shop.analyse("sandals and a sandal").note() == ""


def test_ignored_negations_are_called_out_as_such(shop):
    analysis = shop.analyse("a dress that is not red")
    assert analysis.words == ["dress", "red"] and analysis.unknown == ["not"]  # the ids and golden "unknown" as before
    assert analysis.note() == "Read 'a dress that is not red' as 'dress red' (negation ignored: not — the model cannot leave anything out)."
    analysis = shop.analyse("no zebra stripes, don't make it blue: a coat without pockets")
    assert analysis.negations == ["no", "dont", "without"] and analysis.ignored == ["zebra", "stripes", "pockets"]  # "make", "it" and "a" are fillers
    assert "(unknown words ignored: zebra, stripes, pockets; negation ignored: no, dont, without — the model" in analysis.note()


def test_words_with_letters_outside_a_to_z_are_told_as_typed_not_as_their_pieces(shop):
    analysis = shop.analyse("a café coat")
    assert analysis.words == ["coat"] and analysis.unknown == ["caf"]  # rule 2 reads "caf", as ever
    assert analysis.note() == "Read 'a café coat' as 'coat' (letters outside a-z not read: café)."
    analysis = shop.analyse("CAFÉ au lait 日本 coat")
    assert analysis.outside == ["café", "日本"] and analysis.ignored == ["au", "lait"]
    assert shop.analyse("dressé, rouge").note() == "Read 'dressé, rouge' as 'dress' (unknown words ignored: rouge; letters outside a-z not read: dressé)."
    assert shop.analyse("cafe\u0301 red dress").outside == ["cafe\u0301"]  # a combining accent belongs to its word
    assert shop.analyse("a red 👗 dress!").note() == ""  # no letters: punctuation, as ever


@pytest.mark.inputs
def test_a_refusal_names_the_characters_it_does_not_read_and_what_to_type_for_full_width_ones(shop):
    """A prompt typed in full-width letters (East Asian input methods) holds no letters a-z: its
    refusal said so without naming what was wrong. It names each character now, once, with its
    code point, its name where both ports know it and the letter to type; the ids stay the rules'."""
    with pytest.raises(ValueError) as refused:
        shop.encode("ｒｅｄ ｄｒｅｓｓ")
    assert str(refused.value) == (
        "Caption 'ｒｅｄ ｄｒｅｓｓ' holds no words (letters a-z): describe the image, e.g. 'a red dress'. Characters outside a-z not read: "
        "'ｒ' U+FF52 FULLWIDTH LATIN SMALL LETTER R (type r), 'ｅ' U+FF45 FULLWIDTH LATIN SMALL LETTER E (type e), "
        "'ｄ' U+FF44 FULLWIDTH LATIN SMALL LETTER D (type d), 'ｓ' U+FF53 FULLWIDTH LATIN SMALL LETTER S (type s)."
    )
    with pytest.raises(ValueError, match=r"Use at least one of its words: .*\. Characters outside a-z not read: 'Ｒ' U\+FF32 FULLWIDTH LATIN CAPITAL LETTER R \(type R\), 'Ｅ'"):
        shop.encode("a ＲＥＤ ｄｒｅｓｓ")  # as typed, once each: 'Ｄ' is named once
    for caption, named in [("日本", "'日' U+65E5, '本' U+672C."), ("𝐫𝐞𝐝", "'𝐫' U+1D42B (type r), '𝐞' U+1D41E (type e), '𝐝' U+1D41D (type d)."), ("\ufffd\ufffd", "'\ufffd' U+FFFD REPLACEMENT CHARACTER (bytes that were not UTF-8).")]:
        with pytest.raises(ValueError) as refused:
            shop.encode(caption)
        assert str(refused.value).endswith(f"Characters outside a-z not read: {named}"), refused.value
    with pytest.raises(ValueError) as refused:
        shop.encode("ａｂｃｄｅｆｇｈｉｊｋｌｍ")
    assert str(refused.value).endswith("'ｊ' U+FF4A FULLWIDTH LATIN SMALL LETTER J (type j), … and 3 more.")  # 10 listed, as words are
    with pytest.raises(ValueError) as refused:
        shop.encode("123 !!")
    assert "not read" not in str(refused.value)  # digits and punctuation separate words, as ever: nothing to name
    assert shop.encode("red ｄｒｅｓｓ") == shop.encode("red")  # not folded to "red dress": the ids are the rules' (rule 2)


def test_the_note_says_what_to_type_for_full_width_words_and_tells_bytes_that_were_not_utf_8(shop):
    analysis = shop.analyse("red ｄｒｅｓｓ")
    assert analysis.words == ["red"] and analysis.outside == ["ｄｒｅｓｓ"]  # read as ever: the full-width word is not read
    assert analysis.note() == "Read 'red ｄｒｅｓｓ' as 'red' (letters outside a-z not read: ｄｒｅｓｓ (type dress))."
    assert shop.analyse("a café 𝐫𝐞𝐝 coat").note() == "Read 'a café 𝐫𝐞𝐝 coat' as 'coat' (letters outside a-z not read: café, 𝐫𝐞𝐝 (type red))."
    analysis = shop.analyse("red \ufffd dr\ufffdess")  # what a decoder makes of "red \xff dr\xe2\x82ess"
    assert analysis.words == ["red"] and analysis.unknown == ["dr", "ess"]
    assert analysis.note().endswith("(unknown words ignored: dr, ess; replacement characters not read: 2 × \ufffd — bytes that were not UTF-8).")
    assert shop.analyse("red \ufffd dress").note() == "Read 'red \ufffd dress' as 'red dress' (replacement characters not read: 1 × \ufffd — bytes that were not UTF-8)."


def test_numbers_are_told_they_are_not_read(shop):
    analysis = shop.analyse("2 shirts")
    assert analysis.words == ["shirt"] and analysis.numbers == ["2"]
    assert analysis.note() == "Read '2 shirts' as 'shirt' (numbers ignored: 2 — the number of images is set separately)."
    assert shop.analyse("dress #10.5, 1,000 red bags").numbers == ["10.5", "1,000"]
    analysis = shop.analyse("two red dresses, 3 coats, a dozen zebras")  # number words too, in the caption's order
    assert analysis.numbers == ["two", "3", "dozen"] and analysis.ignored == ["zebras"]
    assert analysis.unknown == ["two", "dozen", "zebras"]  # the reading itself is as ever: unknown words dropped
    assert "(unknown words ignored: zebras; numbers ignored: two, 3, dozen — the number of images is set separately; several garments" in analysis.note()


def test_the_note_lists_at_most_ten_of_each_and_the_ids_never_change(shop, tokenizer):
    note = shop.analyse("red coat " + "not " * 12 + "café " * 12 + "7 " * 12).note()
    assert "negation ignored: not, not, not, not, not, not, not, not, not, not, … and 2 more — the model" in note
    assert "letters outside a-z not read: café, café, café, café, café, café, café, café, café, café, … and 2 more;" in note
    assert "numbers ignored: 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, … and 2 more — the number" in note
    assert shop.analyse("a red coat " + "日" * 9000).note() == f"Read 'a red coat {'日' * 49}'… (9011 characters) as 'red coat' (letters outside a-z not read: {'日' * 60}… (9000 characters))."
    plain = Tokenizer.fit(CAPTIONS, max_length=6, synonyms=SYNONYMS, keywords=KEYWORDS)
    for caption in ["a red dress and a blue shirt", "a dress that is not red", "a café coat", "2 shirts", "dressé rouge"]:
        assert shop.encode(caption) == plain.encode(caption) and shop.analyse(caption).unknown == plain.analyse(caption).unknown


def test_garments_and_colours_come_with_the_spec_from_the_card_not_in_it(shop):
    spec = json.loads(json.dumps(shop.spec(["a red dress"])))
    assert "garments" not in json.dumps(spec) and Tokenizer.from_spec(spec).analyse("a dress and a coat").note() == ""
    restored = Tokenizer.from_spec(spec, GARMENTS, {"red": [230, 30, 30], "blue": [40, 90, 255]})  # card.json's class_nouns and colours
    assert restored.analyse("a red dress, a blue coat").garments == ["dress", "coat"] and restored.colours == ["red", "blue"]
    for garments, colours, message in [("dress", None, "garments must be lists of nouns"), ([["dress"], []], None, "garments"), (None, [3], "colours must be colour names")]:
        with pytest.raises(ValueError, match=message):
            Tokenizer.from_spec(spec, garments, colours)


@pytest.mark.inputs
@pytest.mark.parametrize("caption", ["show me something nice", "a zebra", "please", "the one in the picture"])
def test_a_caption_naming_no_garment_or_colour_is_refused_with_the_words_to_use(tokenizer, caption):
    with pytest.raises(ValueError, match="names no garment or colour") as error:
        tokenizer.encode(caption)
    assert repr(caption) in str(error.value) and "bag, blue, coat, dress, red" in str(error.value)


def test_without_a_keyword_list_every_vocabulary_word_is_a_keyword():
    tokenizer = Tokenizer.fit(["a red square", "a blue disc"])
    assert tokenizer.keywords == ["blue", "disc", "red", "square"]
    assert tokenizer.encode("square") == [tokenizer.ids["square"], PAD_ID]


def test_a_batch_is_int64_with_one_row_per_caption(tokenizer):
    batch = tokenizer(["a red dress", "crimson coat", "a red dress"])
    assert batch.dtype == np.int64 and batch.shape == (3, 4)
    np.testing.assert_array_equal(batch[0], batch[2])
    assert tokenizer.decode(batch[1]) == "red coat"


def test_spec_round_trips_through_json_and_carries_golden_ids_and_refusals(tokenizer):
    golden = ["a red dress", "Crimson FROCKS!", "sneakr, navy", "a zebra in red", "show me something"]
    spec = json.loads(json.dumps(tokenizer.spec(golden_captions=golden)))
    assert spec["type"] == "ganzoo-words-v2"
    assert spec["golden"][3] == {"caption": "a zebra in red", "ids": [tokenizer.ids["red"], 0, 0, 0], "unknown": ["zebra"], "corrections": []}
    assert spec["golden"][2]["corrections"] == [["sneakr", "sneaker"]]
    assert "error" in spec["golden"][4] and "ids" not in spec["golden"][4]
    restored = Tokenizer.from_spec(spec)
    assert (restored.vocabulary, restored.max_length, restored.synonyms, restored.keywords) == (tokenizer.vocabulary, 4, tokenizer.synonyms, tokenizer.keywords)
    assert restored.not_typos == tokenizer.not_typos == ["bed", "boat", "coal"]
    for caption in [*CAPTIONS, "a zebra coat", "red beds", "blue jeans"]:
        assert restored.analyse(caption) == tokenizer.analyse(caption)


@pytest.mark.inputs
def test_a_spec_whose_golden_entries_disagree_with_its_rules_is_refused(tokenizer):
    for field, change in [("ids", lambda g: g["ids"].reverse()), ("unknown", lambda g: g["unknown"].append("x")), ("corrections", lambda g: g["corrections"].clear())]:
        spec = json.loads(json.dumps(tokenizer.spec(golden_captions=["sneakr in red, zebra"])))
        change(spec["golden"][0])
        with pytest.raises(ValueError, match="golden"):
            Tokenizer.from_spec(spec)
    spec = tokenizer.spec(golden_captions=["a zebra"])
    spec["golden"][0] = {"caption": "a red dress", "error": "it was refused"}
    with pytest.raises(ValueError, match="golden"):
        Tokenizer.from_spec(spec)
    with pytest.raises(ValueError, match="tokenizer spec"):
        Tokenizer.from_spec({"type": "bpe"})
    spec = tokenizer.spec()
    del spec["typos"]
    with pytest.raises(ValueError, match="missing"):
        Tokenizer.from_spec(spec)


def test_a_v1_spec_of_an_older_artifact_loads_with_the_v1_rules():
    v1 = TokenizerV1.fit(["a red dress", "a blue coat"], max_length=5)
    spec = json.loads(json.dumps(v1.spec(golden_captions=["a red dress", "Coat, BLUE!", "a zebra"])))
    assert spec["type"] == "ganzoo-words-v1" and spec["golden"][2] == {"caption": "a zebra", "ids": [v1.ids["a"], UNK_ID, 0, 0, 0]}
    restored = Tokenizer.from_spec(spec)
    assert isinstance(restored, TokenizerV1)
    assert restored.encode("A red zebra") == [v1.ids["a"], v1.ids["red"], UNK_ID, PAD_ID, PAD_ID]  # unknown words fed as <unk>
    assert restored.unknown_words("A red zebra") == ["zebra"]
    assert restored.analyse("a zebra").words == ["a", "<unk>"]  # no keyword check in v1
    spec["golden"][0]["ids"][0] += 1
    with pytest.raises(ValueError, match="golden ids"):
        Tokenizer.from_spec(spec)


@pytest.mark.inputs
@pytest.mark.parametrize("caption", ["", "   ", "123 !!", "???"])
def test_a_caption_without_words_is_refused(tokenizer, caption):
    with pytest.raises(ValueError, match="holds no words"):
        tokenizer.encode(caption)


@pytest.mark.inputs
def test_an_over_long_caption_is_refused_unless_truncation_is_asked_for(tokenizer):
    caption = "a red dress in blue with a coat and a bag"
    with pytest.raises(ValueError, match="at most 4"):
        tokenizer.encode(caption)
    assert tokenizer.encode(caption, truncate=True) == tokenizer.encode("red dress blue coat")
    assert tokenizer.encode("show me a picture of a red dress please") == tokenizer.encode("red dress")  # fillers do not count


def test_a_truncated_caption_s_note_lists_the_words_cut(tokenizer):
    """With truncate=True the note told the typo and synonyms of words the ids no longer held, as if
    they were drawn: "Read 'red dress blue coat crimsn frock' as 'red dress blue coat' (typos
    crimsn→crimson; synonyms crimson→red, frock→dress)". It lists the words cut now."""
    analysis = tokenizer.analyse("red dress blue coat crimsn frock", truncate=True)
    assert analysis.note() == (
        "Read 'red dress blue coat crimsn frock' as 'red dress blue coat' "
        "(typos crimsn→crimson; synonyms crimson→red, frock→dress; words past the first 4 cut: red dress)."
    )
    assert analysis.words == ["red", "dress", "blue", "coat"] and analysis.cut == ["red", "dress"]
    assert tokenizer.analyse("red dress, blue coat", truncate=True).note() == ""  # nothing cut: nothing to tell
    assert TokenizerV1.fit(["a red dress"], max_length=2).analyse("a red dress", truncate=True).note() == "Read 'a red dress' as 'a red' (words past the first 2 cut: dress)."


@pytest.mark.inputs
def test_a_truncated_caption_must_name_a_garment_or_colour_in_the_words_it_keeps(tokenizer):
    """With truncate=True the keywords were those of the whole caption, cut words too: "t t t t red
    dress" gave the ids of "t t t t", which name nothing to draw, with keywords red and dress and
    no refusal. The words kept are what the ids hold; a caption naming nothing among them is refused."""
    with pytest.raises(ValueError, match="Caption 't t t t red dress' names no garment or colour this model knows in the first 4 words, "
                                         "which truncate=True keeps \\(cut: red dress\\). Use at least one of its words among the first 4: bag, blue, "):
        tokenizer.analyse("t t t t red dress", truncate=True)
    with pytest.raises(ValueError, match="names no garment or colour"):
        tokenizer(["red dress", "t t t t red dress"], truncate=True)  # training captions, as zoo.captions tokenizes them
    analysis = tokenizer.analyse("t t t red dress", truncate=True)
    assert analysis.words == ["t", "t", "t", "red"] and analysis.keywords == ["red"] and analysis.cut == ["dress"]
    with pytest.raises(ValueError, match="reads as 6 words \\(t t t t red dress\\); this tokenizer takes at most 4"):
        tokenizer.analyse("t t t t red dress")  # without truncate=True: refused for its length, as in the apps


@pytest.mark.inputs
def test_a_pasted_page_is_refused_in_one_short_line_quoting_its_start_and_first_words(tokenizer):
    """A message quotes the first 60 characters of a caption, and lists the first 10 of its words,
    with how many there are: 9,000 characters of unknown words gave a 20 KB message."""
    with pytest.raises(ValueError) as error:
        tokenizer.encode("zzqx " * 1800)
    assert str(error.value) == (
        "Caption 'zzqx zzqx zzqx zzqx zzqx zzqx zzqx zzqx zzqx zzqx zzqx zzqx '… (9000 characters) names no garment or colour "
        "this model knows (unknown words: zzqx, zzqx, zzqx, zzqx, zzqx, zzqx, zzqx, zzqx, zzqx, zzqx, … and 1790 more). "
        "Use at least one of its words: bag, blue, coat, dress, red, sandal, sandals, shirt, sneaker."
    )
    with pytest.raises(ValueError, match=r"\(7200 characters\) reads as 1800 words \(red red red red red red red red red red … and 1790 more\); this tokenizer takes at most 4"):
        tokenizer.encode("red " * 1800)
    with pytest.raises(ValueError, match=r"^Caption '(123 ){15}'… \(400 characters\) holds no words"):
        tokenizer.encode("123 " * 100)
    assert tokenizer.analyse("a red dress" + " zzqx" * 30).note() == (
        "Read 'a red dress zzqx zzqx zzqx zzqx zzqx zzqx zzqx zzqx zzqx zzq'… (161 characters) as 'red dress' "
        "(unknown words ignored: zzqx, zzqx, zzqx, zzqx, zzqx, zzqx, zzqx, zzqx, zzqx, zzqx, … and 20 more)."
    )
    sixty = "a red dress " + "zzqx " * 9 + "zzq"  # 60 characters are quoted whole, as every shorter caption
    assert tokenizer.analyse(sixty).note().startswith(f"Read {sixty!r} as 'red dress'")
    assert tokenizer.analyse(sixty + "!").note().startswith(f"Read {sixty!r}… (61 characters) as 'red dress'")
    assert tokenizer.analyse("a red coat " + "z" * 61).note().endswith(f"(unknown words ignored: {'z' * 60}… (61 characters)).")  # a word is cut as a caption is


@pytest.mark.inputs
@pytest.mark.parametrize("caption", [None, 3, b"a red dress", "a" * 20_000])
def test_non_captions_are_refused(tokenizer, caption):
    with pytest.raises(ValueError, match="caption|Caption"):
        tokenizer.encode(caption)
    with pytest.raises(ValueError, match="caption|Caption"):
        tokenizer([caption])


@pytest.mark.inputs
@pytest.mark.parametrize(
    "vocabulary, max_length, kwargs, message",
    [
        (["red", "<unk>"], 4, {}, "must start"),
        (["<pad>", "<unk>", "red", "red"], 4, {}, "twice"),
        (["<pad>", "<unk>", "Red"], 4, {}, "lowercase"),
        (["<pad>", "<unk>", "red"], 0, {}, "max_length"),
        (["<pad>", "<unk>", "red"], 4, {"synonyms": {"crimson": "scarlet"}}, "not in the vocabulary"),
        (["<pad>", "<unk>", "red"], 4, {"synonyms": {"red": "red"}}, "vocabulary word"),
        (["<pad>", "<unk>", "red"], 4, {"synonyms": {"crimson": "!!"}}, "letters"),
        (["<pad>", "<unk>", "red"], 4, {"keywords": ["blue"]}, "keywords"),
        (["<pad>", "<unk>", "red"], 4, {"fillers": "a the"}, "list"),
        (["<pad>", "<unk>", "red"], 4, {"not_typos": ["Bed"]}, "lowercase"),
        (["<pad>", "<unk>", "red"], 4, {"min_typo_length": -1}, "min_typo_length"),
    ],
)
def test_bad_vocabularies_lengths_and_rules_are_refused(vocabulary, max_length, kwargs, message):
    with pytest.raises(ValueError, match=message):
        Tokenizer(vocabulary, max_length, **kwargs)


def test_a_vocabulary_word_is_never_a_filler():
    tokenizer = Tokenizer(["<pad>", "<unk>", "a", "red", "dress"], 4)  # the vocabulary of a v1-era model
    assert "a" not in tokenizer.fillers
    assert tokenizer.analyse("the red dress").words == ["red", "dress"]
    assert tokenizer.analyse("a red dress").words == ["a", "red", "dress"]


def test_the_one_edit_check_agrees_with_the_list_of_all_one_edit_strings():
    rng = np.random.default_rng(0)
    for word in ["red", "dress", "sneaker", "ab"]:
        neighbours = one_edit_neighbours(word)
        assert all(within_one_edit(word, other) for other in neighbours)
        samples = {"".join(rng.choice(list("adersk"), size=n)) for n in (2, 3, 4, 5, 6, 7) for _ in range(300)}
        for other in itertools.chain(samples, neighbours):
            assert within_one_edit(word, other) == (other in neighbours), (word, other)
    assert within_one_edit("sneakr", "sneaker") and within_one_edit("bleu", "blue") and not within_one_edit("blue", "blue")


def test_tokenizer_and_runtime_import_without_tensorflow_or_nltk():
    code = "import sys, zoo.text, zoo.runtime; sys.exit('tensorflow' in sys.modules or 'nltk' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], timeout=120).returncode == 0
