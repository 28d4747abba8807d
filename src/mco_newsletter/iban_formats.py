"""The registries the donation footer's bank codes are checked against: IBAN formats and BIC countries.

IBAN_FORMATS is SWIFT's IBAN registry (release 101): per country that uses IBANs, its name as the registry
writes it and the layout of the account part (the BBAN) in the registry's notation: "4!n" is 4 digits,
"4!a" 4 capital letters, "4!c" 4 letters or digits. An IBAN is the country code, two check digits, then
the BBAN, so its length follows from the layout.
"""

from __future__ import annotations

IBAN_FORMATS: dict[str, tuple[str, str]] = {
    "AD": ("Andorra", "4!n4!n12!c"),
    "AE": ("United Arab Emirates (The)", "3!n16!n"),
    "AL": ("Albania", "8!n16!c"),
    "AT": ("Austria", "5!n11!n"),
    "AZ": ("Azerbaijan", "4!a20!c"),
    "BA": ("Bosnia and Herzegovina", "3!n3!n8!n2!n"),
    "BE": ("Belgium", "3!n7!n2!n"),
    "BG": ("Bulgaria", "4!a4!n2!n8!c"),
    "BH": ("Bahrain", "4!a14!c"),
    "BI": ("Burundi", "5!n5!n11!n2!n"),
    "BR": ("Brazil", "8!n5!n10!n1!a1!c"),
    "BY": ("Belarus", "4!c4!n16!c"),
    "CH": ("Switzerland", "5!n12!c"),
    "CR": ("Costa Rica", "4!n14!n"),
    "CY": ("Cyprus", "3!n5!n16!c"),
    "CZ": ("Czechia", "4!n16!n"),
    "DE": ("Germany", "8!n10!n"),
    "DJ": ("Djibouti", "5!n5!n11!n2!n"),
    "DK": ("Denmark", "4!n9!n1!n"),
    "DO": ("Dominican Republic", "4!c20!n"),
    "EE": ("Estonia", "2!n14!n"),
    "EG": ("Egypt", "4!n4!n17!n"),
    "ES": ("Spain", "4!n4!n1!n1!n10!n"),
    "FI": ("Finland", "3!n11!n"),
    "FK": ("Falkland Islands (Malvinas)", "2!a12!n"),
    "FO": ("Faroe Islands", "4!n9!n1!n"),
    "FR": ("France", "5!n5!n11!c2!n"),
    "GB": ("United Kingdom", "4!a6!n8!n"),
    "GE": ("Georgia", "2!a16!n"),
    "GI": ("Gibraltar", "4!a15!c"),
    "GL": ("Greenland", "4!n9!n1!n"),
    "GR": ("Greece", "3!n4!n16!c"),
    "GT": ("Guatemala", "4!c20!c"),
    "HN": ("Honduras", "4!a20!n"),
    "HR": ("Croatia", "7!n10!n"),
    "HU": ("Hungary", "3!n4!n1!n15!n1!n"),
    "IE": ("Ireland", "4!a6!n8!n"),
    "IL": ("Israel", "3!n3!n13!n"),
    "IQ": ("Iraq", "4!a3!n12!n"),
    "IS": ("Iceland", "4!n2!n6!n10!n"),
    "IT": ("Italy", "1!a5!n5!n12!c"),
    "JO": ("Jordan", "4!a4!n18!c"),
    "KW": ("Kuwait", "4!a22!c"),
    "KZ": ("Kazakhstan", "3!n13!c"),
    "LB": ("Lebanon", "4!n20!c"),
    "LC": ("Saint Lucia", "4!a24!c"),
    "LI": ("Liechtenstein", "5!n12!c"),
    "LT": ("Lithuania", "5!n11!n"),
    "LU": ("Luxembourg", "3!n13!c"),
    "LV": ("Latvia", "4!a13!c"),
    "LY": ("Libya", "3!n3!n15!n"),
    "MC": ("Monaco", "5!n5!n11!c2!n"),
    "MD": ("Moldova, Republic of", "2!c18!c"),
    "ME": ("Montenegro", "3!n13!n2!n"),
    "MK": ("North Macedonia", "3!n10!c2!n"),
    "MN": ("Mongolia", "4!n12!n"),
    "MR": ("Mauritania", "5!n5!n11!n2!n"),
    "MT": ("Malta", "4!a5!n18!c"),
    "MU": ("Mauritius", "4!a2!n2!n12!n3!n3!a"),
    "NI": ("Nicaragua", "4!a20!n"),
    "NL": ("Netherlands (The)", "4!a10!n"),
    "NO": ("Norway", "4!n6!n1!n"),
    "OM": ("Oman", "3!n16!c"),
    "PK": ("Pakistan", "4!a16!c"),
    "PL": ("Poland", "8!n16!n"),
    "PS": ("Palestine, State of", "4!a21!c"),
    "PT": ("Portugal", "4!n4!n11!n2!n"),
    "QA": ("Qatar", "4!a21!c"),
    "RO": ("Romania", "4!a16!c"),
    "RS": ("Serbia", "3!n13!n2!n"),
    "RU": ("Russian Federation", "9!n5!n15!c"),
    "SA": ("Saudi Arabia", "2!n18!c"),
    "SC": ("Seychelles", "4!a2!n2!n16!n3!a"),
    "SD": ("Sudan", "2!n12!n"),
    "SE": ("Sweden", "3!n16!n1!n"),
    "SI": ("Slovenia", "5!n8!n2!n"),
    "SK": ("Slovakia", "4!n6!n10!n"),
    "SM": ("San Marino", "1!a5!n5!n12!c"),
    "SO": ("Somalia", "4!n3!n12!n"),
    "ST": ("Sao Tome and Principe", "4!n4!n11!n2!n"),
    "SV": ("El Salvador", "4!a20!n"),
    "TL": ("Timor-Leste", "3!n14!n2!n"),
    "TN": ("Tunisia", "2!n3!n13!n2!n"),
    "TR": ("Turkiye", "5!n1!n16!c"),
    "UA": ("Ukraine", "6!n19!c"),
    "VA": ("Holy See", "3!n15!n"),
    "VG": ("Virgin Islands (British)", "4!a16!n"),
    "XK": ("Kosovo", "4!n10!n2!n"),
    "YE": ("Yemen", "4!a4!n18!c"),
}

# ISO 3166-1 alpha-2 and XK (Kosovo): the countries a BIC's 5th and 6th characters may name.
BIC_COUNTRIES = frozenset(
    (
        "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV "
        "BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES "
        "ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE "
        "IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY "
        "MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU "
        "NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM "
        "SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE "
        "VG VI VN VU WF WS XK YE YT ZA ZM ZW"
    ).split()
)
