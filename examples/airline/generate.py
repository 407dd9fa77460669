#!/usr/bin/env python3
"""Held-out dataset: Northvale Airways customer-service assistant.

Deterministic for a given seed. Writes interactions.jsonl, feedback.jsonl and
truth.json (reverie.truth/v1) into --out-dir. Python 3 standard library only.

Written as a held-out check from a description of the failure modes alone,
without reading the rules: see examples/README.md, "A held-out check".
"""
import argparse
import datetime as dt
import json
import os
import random

SEED = 7321
N = 1500
START = dt.datetime(2027, 5, 3, 0, 0, 0)
DAYS = 28

PROMPT = """You are Skye, the virtual travel assistant of Northvale Airways. You help customers by chat in the Northvale app, on northvale.com and on WhatsApp. Answer in the language the customer writes in.

## What you do
- Find flights, make new bookings, change or cancel existing reservations, issue refunds and answer questions about a reservation.
- Use the tools to look things up. Never invent flights, fares, reservation details or payment methods.
- Before you book, change, cancel or refund anything, identify the customer with get_user_details using their user id.

## Policies
- Before any action that changes a booking (book_reservation, update_reservation_flights, cancel_reservation, refund), tell the customer exactly what you are going to do, with the reservation and the amount, and ask them to confirm. Act only after they have clearly said yes, and only on what they confirmed.
- Basic economy fares cannot be changed: no new flights, no new dates. A basic economy reservation can still be cancelled.
- Refunds always go back to the original payment method of the reservation, never to another card or to a gift card.
- Pay only with payment methods stored on the customer's profile. Use the payment_id exactly as get_user_details returns it.
- Search results carry every fare in USD and in EUR. Quote fares in the currency the customer asks for; if they do not say, use USD.
- Transfer to a human agent (transfer_to_human_agents) for baggage claims, special assistance, group bookings of more than 9 passengers, complaints about compensation, or when the customer asks for a person.

## Tools
- get_user_details(user_id): the customer's profile: name, saved passengers, payment methods (payment_id, brand, last four digits) and reservation ids.
- search_flights(legs): available flights; legs is a list of {from, to, date} with IATA airport codes and dates as YYYY-MM-DD.
- get_reservation(reservation_id): flights, cabin, passengers, payment method and status of a reservation.
- book_reservation(flight_ids, payment_id, passengers): books the flights for the passengers and charges the payment method.
- update_reservation_flights(reservation_id, flight_ids): moves a reservation to other flights; the fare difference is settled on the original payment method.
- cancel_reservation(reservation_id): cancels a reservation.
- refund(reservation_id, payment_id): refunds a cancelled reservation to the given payment method.
- transfer_to_human_agents(summary): hands the chat to a person with a short summary.

## Style
- Friendly, short and precise. Give flight numbers, times and prices. One question at a time.
- Do not make promises about compensation, upgrades or seat assignments."""

AIRPORTS = [
    # code, en, de, es
    ("JFK", "New York", "New York", "Nueva York"),
    ("BOS", "Boston", "Boston", "Boston"),
    ("ORD", "Chicago", "Chicago", "Chicago"),
    ("MIA", "Miami", "Miami", "Miami"),
    ("SFO", "San Francisco", "San Francisco", "San Francisco"),
    ("LAX", "Los Angeles", "Los Angeles", "Los Ángeles"),
    ("SEA", "Seattle", "Seattle", "Seattle"),
    ("LHR", "London", "London", "Londres"),
    ("DUB", "Dublin", "Dublin", "Dublín"),
    ("FRA", "Frankfurt", "Frankfurt", "Fráncfort"),
    ("MUC", "Munich", "München", "Múnich"),
    ("BER", "Berlin", "Berlin", "Berlín"),
    ("HAM", "Hamburg", "Hamburg", "Hamburgo"),
    ("VIE", "Vienna", "Wien", "Viena"),
    ("ZRH", "Zurich", "Zürich", "Zúrich"),
    ("MAD", "Madrid", "Madrid", "Madrid"),
    ("BCN", "Barcelona", "Barcelona", "Barcelona"),
    ("LIS", "Lisbon", "Lissabon", "Lisboa"),
    ("CDG", "Paris", "Paris", "París"),
    ("AMS", "Amsterdam", "Amsterdam", "Ámsterdam"),
    ("FCO", "Rome", "Rom", "Roma"),
    ("CPH", "Copenhagen", "Kopenhagen", "Copenhague"),
    ("MEX", "Mexico City", "Mexiko-Stadt", "Ciudad de México"),
    ("BOG", "Bogotá", "Bogotá", "Bogotá"),
]
LI = {"en": 1, "de": 2, "es": 3}

MONTHS = {
    "en": ["January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December"],
    "de": ["Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August",
           "September", "Oktober", "November", "Dezember"],
    "es": ["enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto",
           "septiembre", "octubre", "noviembre", "diciembre"],
}

FIRST = {
    "en": ["Olivia", "Liam", "Harper", "Noah", "Ava", "Ethan", "Chloe", "Mason", "Grace", "Lucas",
           "Nora", "Caleb", "Maya", "Owen", "Zoe", "Isaac", "Riley", "Hannah", "Dylan", "Priya",
           "Marcus", "Aaliyah", "Kenji", "Fatima", "Connor", "Leah", "Tariq", "Ivy", "Samuel", "Jade"],
    "de": ["Lukas", "Anna", "Felix", "Lea", "Jonas", "Marie", "Paul", "Sophie", "Moritz", "Lena",
           "Tobias", "Katharina", "Jan", "Julia", "Niklas", "Emma", "Florian", "Clara", "Stefan", "Ida"],
    "es": ["Lucia", "Mateo", "Sofia", "Diego", "Valentina", "Javier", "Camila", "Alejandro", "Elena",
           "Pablo", "Martina", "Andres", "Carmen", "Santiago", "Isabel", "Hugo", "Paula", "Tomas",
           "Ximena", "Rodrigo"],
}
LAST = {
    "en": ["Carter", "Nguyen", "Patel", "Brooks", "Kim", "Reyes", "Walsh", "Foster", "Okafor", "Bennett",
           "Hughes", "Sato", "Murphy", "Coleman", "Price", "Ward", "Jensen", "Ali", "Russo", "Greene"],
    "de": ["Becker", "Hoffmann", "Schulz", "Wagner", "Koch", "Richter", "Klein", "Wolf", "Neumann",
           "Schwarz", "Zimmermann", "Krause", "Lange", "Hartmann", "Vogel", "Brandt"],
    "es": ["Garcia", "Martinez", "Lopez", "Sanchez", "Romero", "Navarro", "Torres", "Ruiz", "Diaz",
           "Moreno", "Alvarez", "Castillo", "Ortega", "Vargas", "Herrera", "Mendoza"],
}
BRANDS = ["Visa", "Mastercard", "Amex"]
CABINS = ["basic_economy", "economy", "economy", "economy", "business"]
CABIN_NAME = {
    "en": {"basic_economy": "basic economy", "economy": "economy", "business": "business"},
    "de": {"basic_economy": "Basic Economy", "economy": "Economy", "business": "Business"},
    "es": {"basic_economy": "económica básica", "economy": "económica", "business": "business"},
}


def jd(o):
    return json.dumps(o, separators=(",", ":"), sort_keys=True, ensure_ascii=False)


class World:
    def __init__(self, rng):
        self.r = rng
        self.users = {"en": [], "de": [], "es": []}
        used = set()
        for lang, n in (("en", 220), ("de", 110), ("es", 110)):
            for _ in range(n):
                while True:
                    f = rng.choice(FIRST[lang])
                    l = rng.choice(LAST[lang])
                    uid = "%s_%s_%04d" % (f.lower(), l.lower(), rng.randrange(1000, 10000))
                    if uid not in used:
                        used.add(uid)
                        break
                self.users[lang].append(self.make_user(lang, f, l, uid))
        self.rids = set()

    def make_user(self, lang, f, l, uid):
        r = self.r
        pays = []
        for k in range(r.choice([1, 1, 2, 2, 3])):
            pays.append({"payment_id": "credit_card_%07d" % r.randrange(1000000, 10000000),
                         "type": "credit_card", "brand": BRANDS[(k + r.randrange(3)) % 3],
                         "last_four": "%04d" % r.randrange(1000, 10000)})
        # the last four digits never equal the end of the id
        for p in pays:
            while p["payment_id"].endswith(p["last_four"]):
                p["last_four"] = "%04d" % r.randrange(1000, 10000)
        if r.random() < 0.35:
            pays.append({"payment_id": "gift_card_%07d" % r.randrange(1000000, 10000000),
                         "type": "gift_card", "balance_usd": r.randrange(40, 400)})
        pax = [{"first_name": f, "last_name": l,
                "dob": "%04d-%02d-%02d" % (r.randrange(1955, 2003), r.randrange(1, 13), r.randrange(1, 29))}]
        for _ in range(r.choice([0, 0, 1, 2])):
            pax.append({"first_name": r.choice(FIRST[lang]), "last_name": l,
                        "dob": "%04d-%02d-%02d" % (r.randrange(1960, 2020), r.randrange(1, 13), r.randrange(1, 29))})
        return {"user_id": uid, "lang": lang, "first": f, "last": l, "payments": pays, "passengers": pax,
                "membership": r.choice(["regular", "regular", "silver", "gold"]),
                "email": "%s.%s%d@example.com" % (f.lower(), l.lower(), r.randrange(1, 99))}

    def new_rid(self):
        a = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
        while True:
            s = "".join(self.r.choice(a) for _ in range(6))
            if s not in self.rids and any(c.isdigit() for c in s):
                self.rids.add(s)
                return s

    def flight(self, o, d, date, when=None):
        r = self.r
        num = "NV%d" % r.randrange(100, 1000)
        h = when if when is not None else r.randrange(6, 21)
        m = r.choice([0, 5, 10, 15, 25, 30, 40, 45, 50, 55])
        dur = r.randrange(75, 660)
        dep = dt.datetime(2000, 1, 1, h, m)
        arr = dep + dt.timedelta(minutes=dur)
        usd = r.randrange(89, 980)
        return {"flight_id": "%s-%s" % (num, date.strftime("%Y%m%d")), "flight_number": num,
                "from": o, "to": d, "date": date.strftime("%Y-%m-%d"),
                "departure": dep.strftime("%H:%M"), "arrival": arr.strftime("%H:%M"),
                "seats_left": r.randrange(1, 30),
                "price": {"USD": usd, "EUR": int(round(usd * 0.92))}}

    def reservation(self, user, rid, cabin=None, o=None, d=None, date=None, pay=None):
        r = self.r
        if o is None:
            o, d = pick_route(r)
        if date is None:
            date = dt.date(2027, 5, 3) + dt.timedelta(days=r.randrange(10, 80))
        fl = self.flight(o, d, date)
        cabin = cabin or r.choice(CABINS)
        cards = [p for p in user["payments"] if p["type"] == "credit_card"]
        pay = pay or r.choice(cards)
        pax = user["passengers"][:r.choice([1, 1, 1, len(user["passengers"])])]
        total = fl["price"]["USD"] * len(pax) * (3 if cabin == "business" else 1)
        if cabin == "basic_economy":
            total = int(total * 0.8)
        return {"reservation_id": rid, "user_id": user["user_id"], "status": "confirmed", "cabin": cabin,
                "flights": [{k: fl[k] for k in ("flight_id", "flight_number", "from", "to", "date", "departure", "arrival")}],
                "passengers": pax, "payment_id": pay["payment_id"],
                "total": {"USD": total, "EUR": int(round(total * 0.92))}}


def pick_route(r, avoid=None):
    while True:
        a, b = r.sample(AIRPORTS, 2)
        if avoid and (a[0] in avoid or b[0] in avoid):
            continue
        return a[0], b[0]


def city(code, lang):
    for a in AIRPORTS:
        if a[0] == code:
            return a[LI[lang]]
    return code


def place(r, code, lang):
    # how a user names an airport: mostly the city, sometimes the code
    x = r.random()
    if x < 0.7:
        return city(code, lang)
    if x < 0.85:
        return code
    return "%s (%s)" % (city(code, lang), code)


def fdate(d, lang, r=None):
    if lang == "en":
        if r is not None and r.random() < 0.5:
            return "%d %s" % (d.day, MONTHS["en"][d.month - 1])
        return "%s %d" % (MONTHS["en"][d.month - 1], d.day)
    if lang == "de":
        if r is not None and r.random() < 0.25:
            return "%02d.%02d." % (d.day, d.month)
        return "%d. %s" % (d.day, MONTHS["de"][d.month - 1])
    return "%d de %s" % (d.day, MONTHS["es"][d.month - 1])


def price(amount, cur, lang):
    if cur == "USD":
        return {"en": "$%d" % amount, "de": "%d USD" % amount, "es": "%d USD" % amount}[lang]
    return {"en": "€%d" % amount, "de": "%d €" % amount, "es": "%d €" % amount}[lang]


def pm_label(p, lang):
    if p["type"] == "gift_card":
        return {"en": "gift card", "de": "Gutscheinkarte", "es": "tarjeta regalo"}[lang]
    return {"en": "%s ending in %s", "de": "%s mit Endziffern %s", "es": "%s terminada en %s"}[lang] % (
        p["brand"], p["last_four"])


# ---------------------------------------------------------------- phrases
P = {
    "hello": {
        "en": ["Hi!", "Hello,", "Hey there.", "Good morning.", "Hi Skye,", "", "", ""],
        "de": ["Hallo,", "Guten Tag,", "Hi,", "Moin!", "Servus,", "", ""],
        "es": ["Hola,", "Buenas,", "Hola, buenos días.", "Buenas tardes,", "", ""],
    },
    "search1": {
        "en": ["I need a flight from {o} to {d} on {t}.", "Looking for a one-way {o} to {d}, {t}.",
               "what flights do you have {o} -> {d} on {t}?", "Can you find me something from {o} to {d} on {t}?",
               "I have to get to {d} from {o} on {t}. Options?", "Flights {o} to {d}, {t}, please."],
        "de": ["Ich brauche einen Flug von {o} nach {d} am {t}.", "Gibt es am {t} Flüge von {o} nach {d}?",
               "Welche Verbindungen habt ihr {o} – {d} am {t}?", "Suche einen einfachen Flug {o} nach {d}, {t}.",
               "Ich muss am {t} von {o} nach {d}. Was gibt es da?"],
        "es": ["Necesito un vuelo de {o} a {d} el {t}.", "¿Qué vuelos hay de {o} a {d} el {t}?",
               "Busco un vuelo solo ida {o} - {d} para el {t}.", "Quiero ir de {o} a {d} el {t}, ¿qué opciones hay?",
               "¿Me buscas vuelos {o} a {d} para el {t}?"],
    },
    "search2": {
        "en": ["Round trip {o} to {d}, leaving {t} and coming back {t2}.",
               "I'd like to fly {o} to {d} on {t} and return on {t2}.",
               "Need flights {o} -> {d} {t}, back {t2}. What's available?",
               "Can you check {o} to {d} on {t} with the return on {t2}?"],
        "de": ["Hin- und Rückflug {o} – {d}, hin am {t}, zurück am {t2}.",
               "Ich möchte am {t} von {o} nach {d} und am {t2} wieder zurück.",
               "Können Sie {o} nach {d} am {t} und zurück am {t2} suchen?"],
        "es": ["Ida y vuelta {o} - {d}, ida el {t} y vuelta el {t2}.",
               "Quiero volar de {o} a {d} el {t} y regresar el {t2}.",
               "¿Puedes mirar {o} a {d} el {t}, con regreso el {t2}?"],
    },
    "search3": {
        "en": ["I'm planning a multi-city trip: {a} to {b} on {t1}, then {b} to {c} on {t2}, and {c} to {d} on {t3}. Can you find flights?",
               "Three flights please: {a}->{b} {t1}, {b}->{c} {t2}, {c}->{d} {t3}.",
               "Could you search {a} to {b} ({t1}), {b} to {c} ({t2}) and {c} to {d} ({t3})?"],
        "de": ["Ich plane eine Rundreise: {a} nach {b} am {t1}, dann {b} nach {c} am {t2} und {c} nach {d} am {t3}. Was gibt es?",
               "Bitte drei Flüge suchen: {a}–{b} am {t1}, {b}–{c} am {t2}, {c}–{d} am {t3}."],
        "es": ["Estoy armando un viaje con varias ciudades: {a} a {b} el {t1}, luego {b} a {c} el {t2} y {c} a {d} el {t3}. ¿Qué vuelos hay?",
               "Necesito tres tramos: {a}-{b} el {t1}, {b}-{c} el {t2} y {c}-{d} el {t3}."],
    },
    "eur": {
        "en": [" Prices in euros, please.", " Please show me the fares in EUR.", " I pay in euros, so EUR prices please.",
               " Could you quote in EUR?", " (in euros pls)"],
        "de": [" Preise bitte in Euro.", " Bitte die Preise in EUR.", " Ich zahle in Euro, also bitte Euro-Preise.",
               " Preise in Euro wären gut."],
        "es": [" Los precios en euros, por favor.", " Dame los precios en EUR.", " Pago en euros, así que en euros, porfa.",
               " ¿Me lo puedes dar en euros?"],
    },
    "usd": {
        "en": [" Prices in dollars please.", " USD is fine.", ""],
        "de": [" Preise gern in Dollar.", " In USD bitte."],
        "es": [" Precios en dólares, por favor.", " En USD está bien."],
    },
    "searching": {
        "en": ["Let me check what's available.", "One moment, I'll search for flights.", "Searching now.", ""],
        "de": ["Einen Moment, ich suche nach Flügen.", "Ich schaue kurz nach.", ""],
        "es": ["Un momento, busco vuelos.", "Déjame revisar la disponibilidad.", ""],
    },
    "options_head": {
        "en": ["Here is what I found for {route} on {t}:", "Available flights {route}, {t}:", "For {route} on {t} I have:"],
        "de": ["Für {route} am {t} habe ich:", "Verfügbare Flüge {route} am {t}:", "Das habe ich für {route} am {t} gefunden:"],
        "es": ["Para {route} el {t} tengo:", "Vuelos disponibles {route}, {t}:", "Esto es lo que encontré para {route} el {t}:"],
    },
    "option_line": {
        "en": "{fn} departing {dep}, arriving {arr}, {p}",
        "de": "{fn}, ab {dep}, an {arr}, {p}",
        "es": "{fn}, sale {dep}, llega {arr}, {p}",
    },
    "which": {
        "en": ["Which one would you like?", "Would you like to book one of these?", "Shall I book one of them for you?"],
        "de": ["Welcher Flug soll es sein?", "Möchten Sie einen davon buchen?", "Soll ich einen davon für Sie buchen?"],
        "es": ["¿Cuál prefieres?", "¿Quieres reservar alguno?", "¿Te reservo alguno de estos?"],
    },
    "decline_book": {
        "en": ["No, I'm just comparing prices for now, thanks.", "No thanks, I'll think about it.",
               "Not yet, I need to check with my partner first.", "no, just wanted the prices. bye",
               "No, that's too expensive for me. Thanks anyway."],
        "de": ["Nein danke, ich wollte nur die Preise wissen.", "Nein, ich überlege es mir noch.",
               "Noch nicht, ich muss erst mit meiner Frau sprechen.", "Nein, das ist mir zu teuer. Trotzdem danke."],
        "es": ["No, gracias, solo estaba comparando.", "No, de momento no. Lo pienso.",
               "Todavía no, tengo que consultarlo. Gracias.", "No, es muy caro para mí. Gracias igual."],
    },
    "after_decline": {
        "en": ["No problem. The fares can change, so feel free to come back anytime.", "Sure, take your time. Have a nice day!"],
        "de": ["Kein Problem. Die Preise können sich ändern, melden Sie sich einfach wieder.", "Gerne, lassen Sie sich Zeit. Schönen Tag!"],
        "es": ["Sin problema. Las tarifas pueden cambiar, escríbenos cuando quieras.", "Claro, tómate tu tiempo. ¡Buen día!"],
    },
    "pick": {
        "en": ["The {fn} works for me.", "Let's do the {dep} one.", "I'll take {fn}.", "{fn} please."],
        "de": ["Der {fn} passt.", "Ich nehme den um {dep}.", "Bitte den {fn}.", "{fn} klingt gut."],
        "es": ["Me quedo con el {fn}.", "El de las {dep}, por favor.", "Reserva el {fn}.", "El {fn} me va bien."],
    },
    "ask_uid": {
        "en": ["Great choice. To book it I need your Northvale user id.", "Sure! What's your user id, please?"],
        "de": ["Gern. Dafür brauche ich Ihre Northvale-Benutzer-ID.", "Alles klar. Wie lautet Ihre Benutzer-ID?"],
        "es": ["Perfecto. Para reservar necesito tu ID de usuario de Northvale.", "Muy bien. ¿Cuál es tu ID de usuario?"],
    },
    "give_uid": {
        "en": ["It's {uid}.", "{uid}", "my user id is {uid}", "Sure: {uid}"],
        "de": ["Meine ID ist {uid}.", "{uid}", "Benutzer-ID: {uid}"],
        "es": ["Es {uid}.", "{uid}", "Mi usuario es {uid}"],
    },
    "uid_inline": {
        "en": [" My user id is {uid}.", " (user id {uid})", " I'm {uid}."],
        "de": [" Meine Benutzer-ID ist {uid}.", " (ID {uid})"],
        "es": [" Mi ID de usuario es {uid}.", " (usuario {uid})"],
    },
    "ask_pay": {
        "en": ["Thanks, {name}. How would you like to pay?", "Found your profile, {name}. Which payment method should I use?"],
        "de": ["Danke, {name}. Womit möchten Sie bezahlen?", "Ich habe Ihr Profil gefunden, {name}. Mit welcher Zahlungsart?"],
        "es": ["Gracias, {name}. ¿Cómo quieres pagar?", "Encontré tu perfil, {name}. ¿Con qué método de pago?"],
    },
    "give_card": {
        "en": ["Use my {brand} ending in {l4}.", "Charge it to the {brand}, last four {l4}.", "the card ending {l4}",
               "My {brand} please, it ends with {l4}."],
        "de": ["Mit meiner {brand}, Endziffern {l4}.", "Bitte die Karte mit der Endung {l4}.", "Die {brand} auf {l4} bitte."],
        "es": ["Con mi {brand} terminada en {l4}.", "Cóbralo a la tarjeta que termina en {l4}.", "La {brand}, últimos cuatro {l4}."],
    },
    "give_gift": {
        "en": ["Use my gift card please.", "Put it on the gift card."],
        "de": ["Bitte mit der Gutscheinkarte.", "Mit meinem Gutschein bitte."],
        "es": ["Con la tarjeta regalo, por favor.", "Usa mi tarjeta regalo."],
    },
    "confirm_book": {
        "en": ["Here's the booking: {fl}, {cabin}, for {pax}. Total {p}, charged to your {pm}. Shall I book it?",
               "To confirm: {fl} in {cabin} for {pax}, {p} on your {pm}. Do you want me to go ahead?"],
        "de": ["Zusammenfassung: {fl}, {cabin}, für {pax}. Gesamt {p}, belastet auf Ihre {pm}. Soll ich buchen?",
               "Zur Bestätigung: {fl} in {cabin} für {pax}, {p} über Ihre {pm}. Darf ich das so buchen?"],
        "es": ["Resumen: {fl}, {cabin}, para {pax}. Total {p}, con tu {pm}. ¿Lo reservo?",
               "Para confirmar: {fl} en {cabin} para {pax}, {p} con tu {pm}. ¿Sigo adelante?"],
    },
    "yes": {
        "en": ["Yes, go ahead.", "Yes please.", "yes", "Yep, do it.", "Yes, that's right.", "Sure, yes.",
               "Yes, confirm it.", "yes go ahead", "Yes, please do."],
        "de": ["Ja, bitte.", "Ja, machen Sie das.", "Ja, genau so.", "ja", "Ja, gerne.", "Ja, bitte buchen."],
        "es": ["Sí, adelante.", "Sí, por favor.", "sí", "Sí, hazlo.", "Sí, confírmalo.", "Sí, correcto."],
    },
    "booked": {
        "en": ["Done! Your reservation {rid} is confirmed. You'll get the e-ticket by email.",
               "All set: reservation {rid} is booked. Anything else I can do?"],
        "de": ["Erledigt! Ihre Buchung {rid} ist bestätigt. Das E-Ticket kommt per E-Mail.",
               "Gebucht: Reservierung {rid}. Kann ich sonst noch helfen?"],
        "es": ["¡Listo! Tu reserva {rid} está confirmada. Recibirás el billete por correo.",
               "Hecho: reserva {rid} confirmada. ¿Algo más?"],
    },
    "anything": {
        "en": ["Is there anything else I can help with?", "Anything else?"],
        "de": ["Kann ich sonst noch etwas für Sie tun?", "Noch etwas?"],
        "es": ["¿Te ayudo con algo más?", "¿Algo más?"],
    },
    "bye": {
        "en": ["No, that's all. Thanks!", "Nope, all good. Bye!", "That's everything, thank you.", "no thanks, have a good one",
               "Perfect, thanks a lot!", "Great, cheers."],
        "de": ["Nein, das war's. Danke!", "Nein danke, alles erledigt. Tschüss!", "Super, vielen Dank!", "Passt, danke schön."],
        "es": ["No, eso es todo. ¡Gracias!", "Nada más, gracias. ¡Chao!", "Perfecto, ¡muchas gracias!", "Genial, gracias."],
    },
    "bye_reply": {
        "en": ["You're welcome, have a great trip!", "Happy to help. Safe travels!", "Thanks for flying Northvale!"],
        "de": ["Sehr gern, gute Reise!", "Gern geschehen. Guten Flug!", "Danke, dass Sie mit Northvale fliegen!"],
        "es": ["¡De nada, buen viaje!", "Un placer ayudarte. ¡Buen vuelo!", "¡Gracias por volar con Northvale!"],
    },
    "cancel_req": {
        "en": ["Please cancel reservation {rid}.", "I need to cancel my booking {rid}, plans changed.",
               "Cancel {rid} please, I can't travel anymore.", "I want to cancel {rid}."],
        "de": ["Bitte stornieren Sie die Buchung {rid}.", "Ich muss meine Reservierung {rid} stornieren, es ist was dazwischengekommen.",
               "Storno für {rid} bitte."],
        "es": ["Quiero cancelar la reserva {rid}.", "Por favor, cancela mi reserva {rid}, cambiaron mis planes.",
               "Necesito anular la reserva {rid}."],
    },
    "cancel_q": {
        "en": ["Is it possible to cancel reservation {rid}?", "Can I still cancel {rid}? I might not make the trip.",
               "what happens if I cancel booking {rid}? would I get my money back?", "Could {rid} be cancelled at this point?"],
        "de": ["Kann ich die Buchung {rid} noch stornieren?", "Ist eine Stornierung von {rid} noch möglich?",
               "Was passiert, wenn ich {rid} storniere? Bekomme ich das Geld zurück?"],
        "es": ["¿Se puede cancelar la reserva {rid}?", "¿Todavía puedo cancelar {rid}? Quizá no pueda viajar.",
               "¿Qué pasa si cancelo la reserva {rid}? ¿Me devuelven el dinero?"],
    },
    "cancel_confirm": {
        "en": ["Reservation {rid} ({route}, {t}, {cabin}) can be cancelled. {p} would be refunded to the original payment method, your {pm}. Do you want me to cancel it?",
               "I can cancel {rid} ({route} on {t}); the refund of {p} goes back to your {pm}. Shall I proceed?"],
        "de": ["Die Buchung {rid} ({route}, {t}, {cabin}) lässt sich stornieren. {p} gehen zurück auf die ursprüngliche Zahlungsart, Ihre {pm}. Soll ich stornieren?",
               "Ich kann {rid} ({route} am {t}) stornieren; die Erstattung von {p} geht auf Ihre {pm}. Soll ich das machen?"],
        "es": ["La reserva {rid} ({route}, {t}, {cabin}) se puede cancelar. Se reembolsarían {p} al método de pago original, tu {pm}. ¿Quieres que la cancele?",
               "Puedo cancelar {rid} ({route} el {t}); el reembolso de {p} irá a tu {pm}. ¿Procedo?"],
    },
    "cancel_decline": {
        "en": ["No, leave it for now. I'll decide later.", "Hmm, no, keep it. Thanks.", "No, don't cancel it."],
        "de": ["Nein, lassen Sie sie erst mal bestehen.", "Nein, dann behalte ich sie. Danke.", "Nein, bitte nicht stornieren."],
        "es": ["No, déjala de momento. Lo decidiré luego.", "Mejor no, la mantengo. Gracias.", "No, no la canceles."],
    },
    "kept": {
        "en": ["Okay, {rid} stays as it is. Just write again if you change your mind."],
        "de": ["In Ordnung, {rid} bleibt bestehen. Melden Sie sich einfach, wenn Sie es sich anders überlegen."],
        "es": ["De acuerdo, {rid} sigue activa. Escríbenos si cambias de idea."],
    },
    "cancelled": {
        "en": ["Reservation {rid} is cancelled and {p} is on its way back to your {pm}. It can take 5-7 business days to show.",
               "Done: {rid} is cancelled, and the refund of {p} to your {pm} has been issued."],
        "de": ["Die Buchung {rid} ist storniert, {p} werden auf Ihre {pm} erstattet. Das kann 5–7 Werktage dauern.",
               "Erledigt: {rid} ist storniert und die Erstattung von {p} auf Ihre {pm} ist veranlasst."],
        "es": ["La reserva {rid} está cancelada y se han reembolsado {p} a tu {pm}. Puede tardar 5-7 días hábiles.",
               "Hecho: {rid} cancelada y reembolso de {p} a tu {pm} emitido."],
    },
    "cancel_both_req": {
        "en": ["Please cancel both of my reservations, {r1} and {r2}.", "I need to cancel {r1} and also {r2}. Whole trip is off."],
        "de": ["Bitte stornieren Sie beide Buchungen, {r1} und {r2}.", "Ich muss {r1} und {r2} stornieren, die Reise fällt aus."],
        "es": ["Cancela mis dos reservas, {r1} y {r2}, por favor.", "Necesito cancelar {r1} y también {r2}. Se suspende el viaje."],
    },
    "cancel_both_confirm": {
        "en": ["Both can be cancelled: {r1} ({p1} back to your {pm1}) and {r2} ({p2} back to your {pm2}). Shall I cancel both?"],
        "de": ["Beide lassen sich stornieren: {r1} ({p1} zurück auf Ihre {pm1}) und {r2} ({p2} zurück auf Ihre {pm2}). Soll ich beide stornieren?"],
        "es": ["Ambas se pueden cancelar: {r1} ({p1} de vuelta a tu {pm1}) y {r2} ({p2} de vuelta a tu {pm2}). ¿Cancelo las dos?"],
    },
    "both_cancelled": {
        "en": ["Both reservations, {r1} and {r2}, are cancelled and the refunds are issued to the original cards."],
        "de": ["Beide Buchungen, {r1} und {r2}, sind storniert; die Erstattungen gehen auf die ursprünglichen Karten."],
        "es": ["Las dos reservas, {r1} y {r2}, están canceladas y los reembolsos van a las tarjetas originales."],
    },
    "two_bookings": {
        "en": [" I have two bookings with you, {r1} and {r2}; only {r1} needs to go.", " (My other one, {r2}, stays.)"],
        "de": [" Ich habe zwei Buchungen, {r1} und {r2}; nur {r1} soll weg.", " ({r2} bleibt bestehen.)"],
        "es": [" Tengo dos reservas, {r1} y {r2}; solo quiero cancelar {r1}.", " (La otra, {r2}, la mantengo.)"],
    },
    "lookup": {
        "en": ["Let me pull up that reservation.", "One moment, checking {rid}.", ""],
        "de": ["Ich sehe mir die Buchung an.", "Einen Moment, ich prüfe {rid}.", ""],
        "es": ["Voy a revisar la reserva.", "Un momento, consulto {rid}.", ""],
    },
    "status_req": {
        "en": ["Can you check my booking {rid}? I want to confirm the departure time.", "What's on reservation {rid}?",
               "hi, which flight am I on? booking ref {rid}", "Could you tell me who is travelling on {rid}?"],
        "de": ["Können Sie meine Buchung {rid} prüfen? Ich will die Abflugzeit wissen.", "Was ist in der Reservierung {rid} gebucht?",
               "Welcher Flug ist {rid}?"],
        "es": ["¿Puedes revisar mi reserva {rid}? Quiero confirmar la hora de salida.", "¿Qué hay en la reserva {rid}?",
               "¿En qué vuelo estoy? Reserva {rid}."],
    },
    "status_ans": {
        "en": ["Reservation {rid}: {fn} {route} on {t}, departing {dep}, arriving {arr}, {cabin}, for {pax}. Status: confirmed."],
        "de": ["Buchung {rid}: {fn} {route} am {t}, Abflug {dep}, Ankunft {arr}, {cabin}, für {pax}. Status: bestätigt."],
        "es": ["Reserva {rid}: {fn} {route} el {t}, sale {dep}, llega {arr}, {cabin}, para {pax}. Estado: confirmada."],
    },
    "notfound_ask": {
        "en": ["I couldn't find a reservation {rid}. Could you double-check the code? It's 6 characters on your confirmation email."],
        "de": ["Eine Buchung {rid} finde ich nicht. Können Sie den Code bitte noch einmal prüfen? Er steht in Ihrer Bestätigungsmail."],
        "es": ["No encuentro ninguna reserva {rid}. ¿Puedes revisar el código? Son 6 caracteres en tu correo de confirmación."],
    },
    "typo_fix": {
        "en": ["Oops, my mistake, it's {rid}.", "Sorry, typo. {rid}", "Right, it should be {rid}."],
        "de": ["Oh, Tippfehler – es ist {rid}.", "Sorry, richtig ist {rid}."],
        "es": ["Uy, me equivoqué, es {rid}.", "Perdón, es {rid}."],
    },
    "retry_same": {
        "en": ["Let me try that again.", "Hmm, trying once more.", ""],
        "de": ["Ich versuche es noch einmal.", ""],
        "es": ["Lo intento otra vez.", ""],
    },
    "notfound_giveup": {
        "en": ["I'm sorry, I can't find reservation {rid} in our system. Could you check the code on your confirmation email?"],
        "de": ["Es tut mir leid, ich finde die Buchung {rid} nicht im System. Bitte prüfen Sie den Code in Ihrer Bestätigung."],
        "es": ["Lo siento, no encuentro la reserva {rid} en el sistema. ¿Puedes revisar el código en tu confirmación?"],
    },
    "annoyed_nf": {
        "en": ["That's the code on my email, I copied it exactly.", "It's definitely {rid}. Why can't you find it?",
               "ugh. ok I'll look again later."],
        "de": ["Das ist genau der Code aus der Mail.", "Es ist wirklich {rid}. Warum finden Sie das nicht?", "Na toll. Ich schaue später nochmal."],
        "es": ["Es el código que aparece en mi correo, lo copié tal cual.", "Es {rid}, seguro. ¿Por qué no la encuentras?", "Vaya. Lo miro luego."],
    },
    "change_req": {
        "en": ["I need to move reservation {rid} to {t}.", "Can I change my flight on {rid} to {t} instead?",
               "Please rebook {rid} for {t}, same route."],
        "de": ["Ich möchte die Buchung {rid} auf den {t} umbuchen.", "Kann ich {rid} auf den {t} verschieben?"],
        "es": ["Quiero cambiar la reserva {rid} al {t}.", "¿Puedo mover mi vuelo de {rid} al {t}?"],
    },
    "basic_no": {
        "en": ["I'm sorry, {rid} is a basic economy fare, and basic economy can't be changed. You could cancel it and book a new flight instead. Would you like that?"],
        "de": ["Leider ist {rid} ein Basic-Economy-Tarif, und der lässt sich nicht umbuchen. Sie könnten stornieren und neu buchen. Möchten Sie das?"],
        "es": ["Lo siento, {rid} es una tarifa económica básica y no admite cambios. Podrías cancelarla y reservar un vuelo nuevo. ¿Quieres hacerlo?"],
    },
    "basic_decline": {
        "en": ["No, then I'll keep the original flight.", "No thanks, I'll stick with what I have.", "Meh. No, leave it."],
        "de": ["Nein, dann bleibe ich beim ursprünglichen Flug.", "Nein danke, dann lasse ich es so."],
        "es": ["No, entonces me quedo con el vuelo original.", "No, gracias, lo dejo así."],
    },
    "change_confirm": {
        "en": ["I can move {rid} to {fn} on {t} (departing {dep}). The fare difference is {p}, settled on your original payment method. Shall I make the change?"],
        "de": ["Ich kann {rid} auf {fn} am {t} (Abflug {dep}) umbuchen. Die Tarifdifferenz beträgt {p} und wird über die ursprüngliche Zahlungsart abgerechnet. Soll ich umbuchen?"],
        "es": ["Puedo pasar {rid} al {fn} del {t} (sale {dep}). La diferencia de tarifa es {p}, con el método de pago original. ¿Hago el cambio?"],
    },
    "changed": {
        "en": ["Done, {rid} is now on {fn} on {t}. Your updated itinerary is on its way by email."],
        "de": ["Erledigt, {rid} ist jetzt auf {fn} am {t}. Der neue Reiseplan kommt per E-Mail."],
        "es": ["Listo, {rid} ahora está en el {fn} del {t}. Te llegará el itinerario actualizado por correo."],
    },
    "human_req": {
        "en": ["My suitcase didn't arrive in {c}. I need to talk to someone about it.",
               "Can I speak to a real person please? It's about compensation for a delay.",
               "I'm travelling with a wheelchair and need assistance at {c}; who can arrange that?"],
        "de": ["Mein Koffer ist in {c} nicht angekommen. Ich möchte mit einem Mitarbeiter sprechen.",
               "Kann ich bitte mit einem Menschen sprechen? Es geht um eine Entschädigung wegen Verspätung."],
        "es": ["Mi maleta no llegó a {c}. Necesito hablar con alguien.",
               "¿Puedo hablar con una persona, por favor? Es por una compensación por retraso."],
    },
    "transfer_say": {
        "en": ["I'm handing you over to a colleague who can help with that. They'll see a summary, so you won't need to repeat yourself."],
        "de": ["Ich verbinde Sie mit einem Kollegen, der dabei helfen kann. Er sieht eine Zusammenfassung, Sie müssen nichts wiederholen."],
        "es": ["Te paso con un compañero que puede ayudarte con esto. Verá un resumen, así que no tendrás que repetir nada."],
    },
    "mind_change": {
        "en": ["Actually, make that {d} instead of {x}, sorry.", "Oh wait, I meant {d}, not {x}. My bad."],
        "de": ["Ach, doch lieber {d} statt {x}, sorry.", "Moment, ich meinte {d}, nicht {x}."],
        "es": ["Perdón, mejor {d} en vez de {x}.", "Uy, quería decir {d}, no {x}."],
    },
    "split_note": {
        "en": ["The combined search didn't go through, so I'll look the legs up separately.", "Let me search the legs separately instead."],
        "de": ["Die kombinierte Suche hat nicht geklappt, ich suche die Strecken einzeln.", "Ich suche die Teilstrecken einzeln."],
        "es": ["La búsqueda combinada no funcionó; busco los tramos por separado.", "Voy a buscar los tramos por separado."],
    },
    "search_down": {
        "en": ["I'm sorry, our flight search isn't responding right now. Could you try again a bit later?",
               "Unfortunately the search system returned an error. Please try again in a while, or I can pass you to a colleague."],
        "de": ["Leider antwortet unsere Flugsuche gerade nicht. Versuchen Sie es bitte später noch einmal.",
               "Die Suche hat leider einen Fehler gemeldet. Bitte versuchen Sie es später erneut."],
        "es": ["Lo siento, el buscador de vuelos no responde ahora mismo. ¿Puedes intentarlo más tarde?",
               "El sistema de búsqueda ha dado un error. Inténtalo de nuevo en un rato, por favor."],
    },
    "search_down_react": {
        "en": ["Seriously? I just want three flights.", "ok, that's annoying. I'll try later.", "That's not helpful at all.", "fine"],
        "de": ["Echt jetzt? Ich will doch nur drei Flüge.", "Na gut, dann später.", "Das hilft mir nicht weiter."],
        "es": ["¿En serio? Solo quiero tres vuelos.", "Vale, lo intento luego.", "Pues no me sirve de mucho."],
    },
    "multi_done": {
        "en": ["Those are the options for all three legs. Would you like to book any of them?"],
        "de": ["Das sind die Möglichkeiten für alle drei Strecken. Möchten Sie etwas davon buchen?"],
        "es": ["Estas son las opciones de los tres tramos. ¿Quieres reservar alguna?"],
    },
    "sold_out_react": {
        "en": ["I'm sorry, that flight just sold out while we were talking. The other option, {fn} at {dep}, still has seats for {p}. Should I book that one instead?"],
        "de": ["Leider ist der Flug gerade ausgebucht worden. Die Alternative {fn} um {dep} hat noch Plätze, {p}. Soll ich stattdessen diese buchen?"],
        "es": ["Lo siento, ese vuelo se acaba de llenar. La otra opción, {fn} a las {dep}, tiene plazas por {p}. ¿Reservo esa?"],
    },
    "pay_retry_ok": {
        "en": ["Sorry for the hiccup, I used the wrong payment reference. It's sorted now: reservation {rid} is confirmed on your {pm}."],
        "de": ["Entschuldigung, ich hatte die falsche Zahlungsreferenz verwendet. Jetzt hat es geklappt: Buchung {rid} ist bestätigt, bezahlt mit Ihrer {pm}."],
        "es": ["Perdona, usé una referencia de pago equivocada. Ya está: la reserva {rid} está confirmada con tu {pm}."],
    },
    "pay_fail_ask": {
        "en": ["Hmm, the payment didn't go through: the card wasn't found. Could you check which card you'd like to use, or pick another one?"],
        "de": ["Die Zahlung ist leider fehlgeschlagen: die Karte wurde nicht gefunden. Welche Karte möchten Sie verwenden?"],
        "es": ["El pago no se ha podido hacer: no se encontró la tarjeta. ¿Con qué tarjeta quieres pagar?"],
    },
    "pay_fail_react": {
        "en": ["It's the {brand} ending {l4}, it's right there on my account!", "What? That card is on my profile.", "I literally just told you the card."],
        "de": ["Das ist die {brand} mit {l4}, die ist doch im Konto hinterlegt!", "Wie bitte? Die Karte ist in meinem Profil."],
        "es": ["Es la {brand} terminada en {l4}, ¡está en mi cuenta!", "¿Cómo? Esa tarjeta está en mi perfil."],
    },
    "refund_retry_ok": {
        "en": ["Sorry, the first refund attempt used the wrong payment reference. {rid} is cancelled and {p} is refunded to your {pm}."],
        "de": ["Entschuldigung, der erste Erstattungsversuch hatte eine falsche Zahlungsreferenz. {rid} ist storniert und {p} gehen zurück auf Ihre {pm}."],
        "es": ["Perdón, el primer intento de reembolso usó una referencia de pago errónea. {rid} está cancelada y se reembolsan {p} a tu {pm}."],
    },
    "paid_with": {
        "en": [" I paid with my {brand} ending {l4}.", " It was paid with the card ending in {l4}."],
        "de": [" Bezahlt habe ich mit der {brand}, Endziffern {l4}.", " Gezahlt mit der Karte auf {l4}."],
        "es": [" La pagué con mi {brand} terminada en {l4}.", " Se pagó con la tarjeta que acaba en {l4}."],
    },
    "a_done": {
        "en": ["Yes, it was possible, so I've gone ahead: {rid} is cancelled and {p} is refunded to your {pm}.",
               "I've cancelled {rid} for you; the refund of {p} goes back to your {pm}."],
        "de": ["Ja, das ging, ich habe {rid} storniert; {p} werden auf Ihre {pm} erstattet.",
               "Ich habe {rid} für Sie storniert, die Erstattung über {p} geht auf Ihre {pm}."],
        "es": ["Sí, era posible, así que ya está: {rid} cancelada y {p} reembolsados a tu {pm}.",
               "He cancelado {rid}; el reembolso de {p} vuelve a tu {pm}."],
    },
    "a_object": {
        "en": ["Wait, what? I only asked IF I could cancel. I didn't tell you to do it!",
               "Hold on, I never said cancel it. I was just asking!", "Why did you cancel it?? I was only asking about the options.",
               "I didn't want it cancelled, I wanted to know the rules first."],
        "de": ["Moment mal, ich habe nur gefragt, OB das geht. Von Stornieren war keine Rede!",
               "Wieso haben Sie storniert? Ich wollte mich nur informieren.", "Das hatte ich nicht beauftragt, ich habe nur eine Frage gestellt."],
        "es": ["¡Un momento! Solo pregunté si se podía, no te pedí que la cancelaras.",
               "¿Por qué la cancelaste? Solo estaba preguntando.", "Yo no dije que la cancelaras, solo quería información."],
    },
    "a_sorry": {
        "en": ["I'm very sorry, I shouldn't have cancelled it without asking you first. I can't reinstate it myself, but I can look for the same flight again or pass you to a colleague."],
        "de": ["Das tut mir sehr leid, ich hätte vorher fragen müssen. Wiederherstellen kann ich die Buchung nicht, aber ich kann denselben Flug neu suchen oder Sie an einen Kollegen übergeben."],
        "es": ["Lo siento mucho, no debí cancelarla sin preguntarte. No puedo recuperarla yo mismo, pero puedo buscar el mismo vuelo de nuevo o pasarte con un compañero."],
    },
    "b_object": {
        "en": ["Hang on, why is {r2} cancelled as well? I only wanted {r1} gone!", "I said {r1}, not {r2}! I still need that flight.",
               "You cancelled {r2} too?! That was not what I asked."],
        "de": ["Moment, warum ist {r2} auch storniert? Ich wollte nur {r1} stornieren!", "Ich sagte {r1}, nicht {r2}! Den Flug brauche ich noch."],
        "es": ["Espera, ¿por qué cancelaste también {r2}? ¡Solo quería cancelar {r1}!", "Dije {r1}, no {r2}. Ese vuelo lo necesito."],
    },
    "b_sorry": {
        "en": ["I'm so sorry, that was my mistake. I'll hand this to a colleague right away so they can try to restore {r2}."],
        "de": ["Das tut mir sehr leid, mein Fehler. Ich gebe das sofort an einen Kollegen weiter, damit {r2} wiederhergestellt werden kann."],
        "es": ["Lo siento muchísimo, fue un error mío. Se lo paso ahora mismo a un compañero para intentar recuperar {r2}."],
    },
    "b_done": {
        "en": ["Done. {r1} is cancelled and refunded. I also cancelled {r2} and refunded it to your {pm2}."],
        "de": ["Erledigt. {r1} ist storniert und erstattet. Außerdem habe ich {r2} storniert und auf Ihre {pm2} erstattet."],
        "es": ["Hecho. {r1} cancelada y reembolsada. También cancelé {r2} y lo reembolsé a tu {pm2}."],
    },
    "user_ok": {
        "en": ["ok thanks", "Alright.", "Okay, thank you."],
        "de": ["Ok, danke.", "Alles klar."],
        "es": ["Vale, gracias.", "De acuerdo."],
    },
    "f_correct": {
        "en": ["Dollars again? I asked for EUR, please.", "Those are in USD. I need them in euros.",
               "Can you give me that in euros, not dollars?", "I said EUR, not USD.", "In euros please, I don't pay in dollars.",
               "Why dollars? Euros, like I asked.", "Not USD - EUR please!", "Those prices are no use to me in dollars, euros please."],
        "de": ["Ich zahle in Euro, nicht in USD.", "Das sind Dollar-Preise – ich wollte Euro.", "Bitte in Euro, nicht in Dollar!",
               "Schon wieder Dollar? Euro bitte.", "Ich hatte doch Euro gesagt.", "Können Sie mir das in EUR statt USD geben?",
               "Nein, in Euro bitte, nicht in Dollar."],
        "es": ["¿Otra vez dólares? En euros, por favor.", "Te pedí los precios en euros, no en dólares.",
               "Eso está en USD, lo necesito en EUR.", "En euros, por favor, no en dólares.", "No, en dólares no: en euros.",
               "¿Por qué en dólares? Dije euros.", "Pásamelo a euros, que no pago en dólares."],
    },
    "f_sorry": {
        "en": ["You're right, sorry about that! Here are the same flights in euros:", "Apologies, my mistake. In EUR:"],
        "de": ["Sie haben recht, Entschuldigung! Hier dieselben Flüge in Euro:", "Verzeihung, mein Fehler. In Euro:"],
        "es": ["Tienes razón, ¡perdona! Estos son los mismos vuelos en euros:", "Disculpa, error mío. En euros:"],
    },
}


# ---------------------------------------------------------------- conversation builder
class Conv:
    def __init__(self, rng, lang):
        self.r = rng
        self.lang = lang
        self.m = [{"role": "system", "content": PROMPT}]
        self.n = 0

    def say(self, key, **kw):
        v = P[key][self.lang]
        s = self.r.choice(v) if isinstance(v, list) else v
        return s.format(**kw)

    def u(self, text):
        self.m.append({"role": "user", "content": text.strip()})

    def a(self, text):
        self.m.append({"role": "assistant", "content": text.strip()})

    def tools(self, text, calls):
        """calls: list of (name, args, result, is_error) made in one assistant message."""
        msg = {"role": "assistant", "content": text, "tool_calls": []}
        outs = []
        for name, args, res, err in calls:
            self.n += 1
            cid = "call_%d" % self.n
            msg["tool_calls"].append({"id": cid, "type": "function",
                                      "function": {"name": name, "arguments": jd(args)}})
            t = {"role": "tool", "content": res if isinstance(res, str) else jd(res), "tool_call_id": cid}
            if err:
                t["is_error"] = True
            outs.append(t)
        self.m.append(msg)
        self.m.extend(outs)

    def tool(self, name, args, res, err=False, text=""):
        self.tools(text, [(name, args, res, err)])


def user_details(u, rids):
    return {"user_id": u["user_id"], "name": {"first_name": u["first"], "last_name": u["last"]},
            "email": u["email"], "membership": u["membership"],
            "saved_passengers": u["passengers"],
            "payment_methods": u["payments"], "reservations": rids}


class Gen:
    def __init__(self, seed):
        self.r = random.Random(seed)
        self.w = World(self.r)

    # ---- helpers
    def future(self, ts, lo=5, hi=70):
        return (ts + dt.timedelta(days=self.r.randrange(lo, hi))).date()

    def options(self, o, d, date, k=None):
        k = k or self.r.choice([2, 3, 3, 4])
        hours = sorted(self.r.sample(range(6, 22), k))
        return [self.w.flight(o, d, date, h) for h in hours]

    def list_opts(self, c, fls, cur):
        L = c.lang
        f0 = fls[0]
        d = dt.date.fromisoformat(f0["date"])
        route = "%s – %s" % (city(f0["from"], L), city(f0["to"], L))
        head = c.say("options_head", route=route, t=fdate(d, L))
        lines = ["- " + P["option_line"][L].format(fn=f["flight_number"], dep=f["departure"], arr=f["arrival"],
                                                   p=price(f["price"][cur], cur, L)) for f in fls]
        return head + "\n" + "\n".join(lines)

    def closing(self, c, p=0.65):
        if self.r.random() < p:
            last = c.m[-1]
            if last["role"] == "assistant" and not last.get("tool_calls"):
                last["content"] = last["content"] + " " + c.say("anything")
            else:
                c.a(c.say("anything"))
            c.u(c.say("bye"))
            c.a(c.say("bye_reply"))

    def search_result(self, legs_opts):
        return {"legs": [{"from": fl[0]["from"], "to": fl[0]["to"], "date": fl[0]["date"], "flights": fl}
                         for fl in legs_opts]}

    def pick_card(self, u):
        return self.r.choice([p for p in u["payments"] if p["type"] == "credit_card"])

    def pax_str(self, pax, lang):
        names = ["%s %s" % (p["first_name"], p["last_name"]) for p in pax]
        if len(names) == 1:
            return names[0]
        j = {"en": " and ", "de": " und ", "es": " y "}[lang]
        return ", ".join(names[:-1]) + j + names[-1]

    # ---- flows
    def search_flow(self, c, u, ts, cur_pref, book, mistake=None):
        """One-way or round-trip search; optional booking. mistake in (None, 'F', 'E')."""
        r, L = self.r, c.lang
        o, d = pick_route(r)
        d1 = self.future(ts)
        rt = r.random() < 0.35
        if rt:
            d2 = d1 + dt.timedelta(days=r.randrange(2, 15))
            text = c.say("search2", o=place(r, o, L), d=place(r, d, L), t=fdate(d1, L, r), t2=fdate(d2, L, r))
        else:
            text = c.say("search1", o=place(r, o, L), d=place(r, d, L), t=fdate(d1, L, r))
        asked = cur_pref
        if cur_pref == "EUR":
            text += c.say("eur")
        elif cur_pref == "USD":
            text += c.say("usd")
        cur = cur_pref or "USD"
        if mistake == "F":
            cur = "EUR"
        uid_given = False
        if book and r.random() < 0.4:
            text += c.say("uid_inline", uid=u["user_id"])
            uid_given = True
        c.u(c.say("hello") + " " + text)
        # a user changing their mind before the search (not a mistake)
        if mistake is None and r.random() < 0.08:
            nd = pick_route(r, avoid=[o])[1]
            c.a({"en": "Sure, before I search: is it %s you're flying to?",
                 "de": "Gern, kurz zur Sicherheit: Ziel ist %s?",
                 "es": "Claro, antes de buscar: ¿el destino es %s?"}[L] % city(d, L))
            c.u(c.say("mind_change", d=city(nd, L), x=city(d, L)))
            d = nd
        legs = [{"date": d1.isoformat(), "from": o, "to": d}]
        opts = [self.options(o, d, d1)]
        if rt:
            legs.append({"date": d2.isoformat(), "from": d, "to": o})
            opts.append(self.options(d, o, d2))
        c.tool("search_flights", {"legs": legs}, self.search_result(opts), text=c.say("searching"))
        quote = "USD" if mistake == "F" else cur
        body = "\n\n".join(self.list_opts(c, fl, quote) for fl in opts)
        c.a(body + "\n\n" + c.say("which"))
        traced_f = False
        if mistake == "F":
            if r.random() < 0.82:
                c.u(c.say("f_correct"))
                c.a(c.say("f_sorry") + "\n" + "\n\n".join(self.list_opts(c, fl, "EUR") for fl in opts) + "\n\n" + c.say("which"))
                traced_f = True
        if not book:
            c.u(c.say("decline_book"))
            c.a(c.say("after_decline"))
            return {"traced": traced_f}
        fl = r.choice(opts[0])
        chosen = [fl]
        if rt:
            chosen.append(r.choice(opts[1]))
        c.u(c.say("pick", fn=fl["flight_number"], dep=fl["departure"]))
        if not uid_given:
            c.a(c.say("ask_uid"))
            c.u(c.say("give_uid", uid=u["user_id"]))
        rids = [self.w.new_rid() for _ in range(r.randrange(0, 3))]
        c.tool("get_user_details", {"user_id": u["user_id"]}, user_details(u, rids))
        c.a(c.say("ask_pay", name=u["first"]))
        gift = [p for p in u["payments"] if p["type"] == "gift_card"]
        if gift and mistake != "E" and r.random() < 0.25:
            pay = gift[0]
            c.u(c.say("give_gift"))
        else:
            pay = self.pick_card(u)
            c.u(c.say("give_card", brand=pay["brand"], l4=pay["last_four"]))
        pax = u["passengers"][:r.choice([1, 1, len(u["passengers"])])]
        cabin = r.choice(["economy", "economy", "basic_economy", "business"])
        mult = 3 if cabin == "business" else 1
        tot = {k: sum(f["price"][k] for f in chosen) * len(pax) * mult for k in ("USD", "EUR")}
        fltxt = " + ".join("%s %s→%s %s %s" % (f["flight_number"], f["from"], f["to"],
                                              fdate(dt.date.fromisoformat(f["date"]), L), f["departure"]) for f in chosen)
        c.a(c.say("confirm_book", fl=fltxt, cabin=CABIN_NAME[L][cabin], pax=self.pax_str(pax, L),
                  p=price(tot[cur], cur, L), pm=pm_label(pay, L)))
        c.u(c.say("yes"))
        args = {"flight_ids": [f["flight_id"] for f in chosen], "passengers": pax}
        new_rid = self.w.new_rid()
        ok = {"reservation_id": new_rid, "status": "confirmed", "flight_ids": args["flight_ids"], "cabin": cabin,
              "charged": {"payment_id": pay["payment_id"], "USD": tot["USD"]}}
        if mistake == "E":
            fake = "credit_card_%s" % pay["last_four"]
            err = r.choice(["payment method not found: %s", "payment_id '%s' not found on this profile",
                            "error: payment method %s does not exist"]) % fake
            c.tool("book_reservation", dict(args, payment_id=fake), err, err=True)
            if r.random() < 0.6:
                c.tool("book_reservation", dict(args, payment_id=pay["payment_id"]), ok)
                c.a(c.say("pay_retry_ok", rid=new_rid, pm=pm_label(pay, L)))
                self.closing(c, 0.5)
            else:
                c.a(c.say("pay_fail_ask"))
                c.u(c.say("pay_fail_react", brand=pay["brand"], l4=pay["last_four"]))
                c.tool("book_reservation", dict(args, payment_id=pay["payment_id"]), ok)
                c.a(c.say("booked", rid=new_rid))
            return {"traced": True}
        if mistake is None and r.random() < 0.05:
            # flight sold out between search and booking: handled well
            alt = [f for f in opts[0] if f is not fl][0]
            c.tool("book_reservation", dict(args, payment_id=pay["payment_id"]),
                   "flight %s has no seats left in %s" % (fl["flight_id"], cabin), err=True)
            alt_tot = {k: (alt["price"][k] + sum(f["price"][k] for f in chosen[1:])) * len(pax) * mult for k in ("USD", "EUR")}
            c.a(c.say("sold_out_react", fn=alt["flight_number"], dep=alt["departure"], p=price(alt_tot[cur], cur, L)))
            c.u(c.say("yes"))
            args["flight_ids"][0] = alt["flight_id"]
            ok["flight_ids"] = args["flight_ids"]
        c.tool("book_reservation", dict(args, payment_id=pay["payment_id"]), ok)
        c.a(c.say("booked", rid=new_rid))
        self.closing(c, 0.6)
        return {"traced": traced_f}

    def multicity_flow(self, c, u, ts, mistake=None):
        r, L = self.r, c.lang
        cities = [a[0] for a in r.sample(AIRPORTS, 4)]
        d1 = self.future(ts)
        d2 = d1 + dt.timedelta(days=r.randrange(2, 6))
        d3 = d2 + dt.timedelta(days=r.randrange(2, 6))
        dates = [d1, d2, d3]
        cur = "EUR" if (L != "en" and r.random() < 0.6) else None
        text = c.say("search3", a=place(r, cities[0], L), b=place(r, cities[1], L), c=place(r, cities[2], L),
                     d=place(r, cities[3], L), t1=fdate(d1, L), t2=fdate(d2, L), t3=fdate(d3, L))
        if cur:
            text += c.say("eur")
        cur = cur or "USD"
        c.u(c.say("hello") + " " + text)
        legs = [{"date": dates[i].isoformat(), "from": cities[i], "to": cities[i + 1]} for i in range(3)]
        opts = [self.options(cities[i], cities[i + 1], dates[i], r.choice([2, 3])) for i in range(3)]
        if mistake == "C":
            errs = ["upstream error: availability service returned 502",
                    "timeout: flight search exceeded 30s",
                    "upstream error (inventory provider), please retry later",
                    "504 Gateway Timeout from schedule provider",
                    "search failed: upstream timeout after 28000 ms",
                    "upstream error: connection reset by fare engine",
                    "request timed out while querying availability"]
            c.tool("search_flights", {"legs": legs}, r.choice(errs), err=True, text=c.say("searching"))
            x = r.random()
            if x < 0.2:
                c.tool("search_flights", {"legs": legs}, r.choice(errs), err=True, text=c.say("retry_same"))
                x = r.random()
            if x < 0.55:
                c.a(c.say("search_down"))
                c.u(c.say("search_down_react"))
                if r.random() < 0.5:
                    c.a({"en": "I understand, and I'm sorry about that.", "de": "Verstehe, das tut mir leid.",
                         "es": "Lo entiendo, lo siento."}[L])
                return {"traced": True}
        # good path (or recovery): split into 2 + 1 or 1 + 1 + 1
        if r.random() < 0.6:
            groups = [[0, 1], [2]]
        else:
            groups = [[0], [1], [2]]
        note = c.say("split_note") if mistake == "C" else c.say("searching")
        for gi, g in enumerate(groups):
            c.tool("search_flights", {"legs": [legs[i] for i in g]}, self.search_result([opts[i] for i in g]),
                   text=note if gi == 0 else "")
        body = "\n\n".join(self.list_opts(c, fl, cur) for fl in opts)
        c.a(body + "\n\n" + c.say("multi_done"))
        if r.random() < 0.7:
            c.u(c.say("decline_book"))
            c.a(c.say("after_decline"))
        else:
            c.u(c.say("bye"))
            c.a(c.say("bye_reply"))
        return {"traced": mistake == "C"}

    def cancel_flow(self, c, u, ts, mistake=None):
        """Single cancellation. mistake in (None, 'A', 'B', 'E')."""
        r, L = self.r, c.lang
        rid = self.w.new_rid()
        others = [self.w.new_rid() for _ in range(r.randrange(1 if mistake == "B" else 0, 3))]
        res = self.w.reservation(u, rid)
        pay = [p for p in u["payments"] if p["payment_id"] == res["payment_id"]][0]
        question = mistake == "A" or (mistake is None and r.random() < 0.45)
        if question:
            text = c.say("cancel_q", rid=rid)
        else:
            text = c.say("cancel_req", rid=rid)
        two_inline = mistake == "B" and r.random() < 0.5
        if two_inline:
            text += c.say("two_bookings", r1=rid, r2=others[0])
        if mistake == "E":
            text += c.say("paid_with", brand=pay["brand"], l4=pay["last_four"])
        c.u(c.say("hello") + " " + text + c.say("uid_inline", uid=u["user_id"]))
        c.tool("get_user_details", {"user_id": u["user_id"]}, user_details(u, [rid] + others))
        c.tool("get_reservation", {"reservation_id": rid}, res, text=c.say("lookup", rid=rid))
        f = res["flights"][0]
        cur = "EUR" if L != "en" and r.random() < 0.5 else "USD"
        kw = dict(rid=rid, route="%s – %s" % (city(f["from"], L), city(f["to"], L)),
                  t=fdate(dt.date.fromisoformat(f["date"]), L), cabin=CABIN_NAME[L][res["cabin"]],
                  p=price(res["total"][cur], cur, L), pm=pm_label(pay, L))
        cancel_ok = {"reservation_id": rid, "status": "cancelled"}
        refund_ok = {"reservation_id": rid, "refunded_to": pay["payment_id"], "amount_usd": res["total"]["USD"],
                     "status": "refund_issued"}
        if mistake == "A":
            c.tool("cancel_reservation", {"reservation_id": rid}, cancel_ok)
            c.tool("refund", {"payment_id": pay["payment_id"], "reservation_id": rid}, refund_ok)
            c.a(c.say("a_done", **kw))
            x = r.random()
            if x < 0.45:
                c.u(c.say("a_object"))
                c.a(c.say("a_sorry"))
            elif x < 0.75:
                c.u(c.say("user_ok"))
            return {"traced": True}
        c.a(c.say("cancel_confirm", **kw))
        if mistake is None and question and r.random() < 0.4:
            c.u(c.say("cancel_decline"))
            c.a(c.say("kept", rid=rid))
            self.closing(c, 0.4)
            return {"traced": False}
        c.u(c.say("yes"))
        c.tool("cancel_reservation", {"reservation_id": rid}, cancel_ok)
        if mistake == "E":
            fake = "credit_card_%s" % pay["last_four"]
            c.tool("refund", {"payment_id": fake, "reservation_id": rid},
                   r.choice(["payment method not found: %s", "refund failed: unknown payment_id %s"]) % fake, err=True)
            c.tool("refund", {"payment_id": pay["payment_id"], "reservation_id": rid}, refund_ok)
            c.a(c.say("refund_retry_ok", **kw))
            self.closing(c, 0.4)
            return {"traced": True}
        c.tool("refund", {"payment_id": pay["payment_id"], "reservation_id": rid}, refund_ok)
        if mistake == "B":
            r2 = others[0]
            res2 = self.w.reservation(u, r2)
            pay2 = [p for p in u["payments"] if p["payment_id"] == res2["payment_id"]][0]
            c.tool("cancel_reservation", {"reservation_id": r2}, {"reservation_id": r2, "status": "cancelled"})
            c.tool("refund", {"payment_id": pay2["payment_id"], "reservation_id": r2},
                   {"reservation_id": r2, "refunded_to": pay2["payment_id"], "amount_usd": res2["total"]["USD"],
                    "status": "refund_issued"})
            c.a(c.say("b_done", r1=rid, r2=r2, pm2=pm_label(pay2, L)))
            x = r.random()
            if x < 0.55:
                c.u(c.say("b_object", r1=rid, r2=r2))
                c.a(c.say("b_sorry", r2=r2))
                if r.random() < 0.5:
                    c.tool("transfer_to_human_agents",
                           {"summary": "Reservation %s was cancelled by mistake together with %s; customer wants %s restored." % (r2, rid, r2)},
                           {"status": "transferred", "queue": "reservations"})
            elif x < 0.8:
                c.u(c.say("user_ok"))
            return {"traced": True}
        c.a(c.say("cancelled", **kw))
        self.closing(c, 0.55)
        return {"traced": False}

    def cancel_both_flow(self, c, u, ts):
        r, L = self.r, c.lang
        r1, r2 = self.w.new_rid(), self.w.new_rid()
        res1, res2 = self.w.reservation(u, r1), self.w.reservation(u, r2)
        c.u(c.say("hello") + " " + c.say("cancel_both_req", r1=r1, r2=r2) + c.say("uid_inline", uid=u["user_id"]))
        c.tool("get_user_details", {"user_id": u["user_id"]}, user_details(u, [r1, r2]))
        if r.random() < 0.5:
            c.tools("", [("get_reservation", {"reservation_id": r1}, res1, False),
                         ("get_reservation", {"reservation_id": r2}, res2, False)])
        else:
            c.tool("get_reservation", {"reservation_id": r1}, res1)
            c.tool("get_reservation", {"reservation_id": r2}, res2)
        cur = "EUR" if L != "en" and r.random() < 0.5 else "USD"
        p1 = [p for p in u["payments"] if p["payment_id"] == res1["payment_id"]][0]
        p2 = [p for p in u["payments"] if p["payment_id"] == res2["payment_id"]][0]
        c.a(c.say("cancel_both_confirm", r1=r1, r2=r2, p1=price(res1["total"][cur], cur, L),
                  p2=price(res2["total"][cur], cur, L), pm1=pm_label(p1, L), pm2=pm_label(p2, L)))
        c.u(c.say("yes"))
        for rr, rs, pp in ((r1, res1, p1), (r2, res2, p2)):
            c.tool("cancel_reservation", {"reservation_id": rr}, {"reservation_id": rr, "status": "cancelled"})
            c.tool("refund", {"payment_id": pp["payment_id"], "reservation_id": rr},
                   {"reservation_id": rr, "refunded_to": pp["payment_id"], "amount_usd": rs["total"]["USD"],
                    "status": "refund_issued"})
        c.a(c.say("both_cancelled", r1=r1, r2=r2))
        self.closing(c, 0.5)
        return {"traced": False}

    def change_flow(self, c, u, ts):
        r, L = self.r, c.lang
        rid = self.w.new_rid()
        basic = r.random() < 0.38
        res = self.w.reservation(u, rid, cabin="basic_economy" if basic else r.choice(["economy", "business"]))
        f = res["flights"][0]
        old = dt.date.fromisoformat(f["date"])
        nd = old + dt.timedelta(days=r.choice([-3, -2, -1, 1, 2, 3, 4]))
        c.u(c.say("hello") + " " + c.say("change_req", rid=rid, t=fdate(nd, L, r)) + c.say("uid_inline", uid=u["user_id"]))
        c.tool("get_user_details", {"user_id": u["user_id"]}, user_details(u, [rid]))
        c.tool("get_reservation", {"reservation_id": rid}, res, text=c.say("lookup", rid=rid))
        if basic:
            c.a(c.say("basic_no", rid=rid))
            c.u(c.say("basic_decline"))
            c.a(c.say("kept", rid=rid))
            self.closing(c, 0.4)
            return {"traced": False}
        opts = self.options(f["from"], f["to"], nd)
        c.tool("search_flights", {"legs": [{"date": nd.isoformat(), "from": f["from"], "to": f["to"]}]},
               self.search_result([opts]))
        nf = r.choice(opts)
        cur = "EUR" if L != "en" and r.random() < 0.5 else "USD"
        diff = max(0, nf["price"][cur] - r.randrange(50, 400))
        c.a(c.say("change_confirm", rid=rid, fn=nf["flight_number"], t=fdate(nd, L), dep=nf["departure"],
                  p=price(diff, cur, L)))
        if r.random() < 0.15:
            c.u(c.say("cancel_decline"))
            c.a(c.say("kept", rid=rid))
            return {"traced": False}
        c.u(c.say("yes"))
        c.tool("update_reservation_flights", {"flight_ids": [nf["flight_id"]], "reservation_id": rid},
               {"reservation_id": rid, "status": "confirmed", "flight_ids": [nf["flight_id"]]})
        c.a(c.say("changed", rid=rid, fn=nf["flight_number"], t=fdate(nd, L)))
        self.closing(c, 0.5)
        return {"traced": False}

    def status_flow(self, c, u, ts, mistake=None):
        r, L = self.r, c.lang
        rid = self.w.new_rid()
        res = self.w.reservation(u, rid)
        typo = mistake == "D" or r.random() < 0.3
        asked = rid
        if typo:
            a = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
            i = r.randrange(6)
            asked = rid[:i] + r.choice([ch for ch in a if ch != rid[i]]) + rid[i + 1:]
        c.u(c.say("hello") + " " + c.say("status_req", rid=asked))
        nf = "reservation %s not found" % asked
        if typo:
            c.tool("get_reservation", {"reservation_id": asked}, nf, err=True, text=c.say("lookup", rid=asked))
            if mistake == "D":
                reps = r.choice([1, 1, 2])
                for _ in range(reps):
                    c.tool("get_reservation", {"reservation_id": asked}, nf, err=True, text=c.say("retry_same"))
                c.a(c.say("notfound_giveup", rid=asked))
                x = r.random()
                if x < 0.4:
                    c.u(c.say("annoyed_nf", rid=asked))
                    if r.random() < 0.5:
                        c.tool("get_reservation", {"reservation_id": asked}, nf, err=True)
                    c.a(c.say("notfound_ask", rid=asked))
                elif x < 0.75:
                    c.u(c.say("typo_fix", rid=rid))
                    c.tool("get_reservation", {"reservation_id": rid}, res)
                    self.status_answer(c, res)
                return {"traced": True}
            c.a(c.say("notfound_ask", rid=asked))
            c.u(c.say("typo_fix", rid=rid))
            c.tool("get_reservation", {"reservation_id": rid}, res)
        else:
            c.tool("get_reservation", {"reservation_id": rid}, res, text=c.say("lookup", rid=rid))
        self.status_answer(c, res)
        self.closing(c, 0.7)
        return {"traced": False}

    def status_answer(self, c, res):
        L = c.lang
        f = res["flights"][0]
        c.a(c.say("status_ans", rid=res["reservation_id"], fn=f["flight_number"],
                  route="%s – %s" % (city(f["from"], L), city(f["to"], L)),
                  t=fdate(dt.date.fromisoformat(f["date"]), L), dep=f["departure"], arr=f["arrival"],
                  cabin=CABIN_NAME[L][res["cabin"]], pax=self.pax_str(res["passengers"], L)))

    def transfer_flow(self, c, u, ts):
        r, L = self.r, c.lang
        cc = city(r.choice(AIRPORTS)[0], L)
        c.u(c.say("hello") + " " + c.say("human_req", c=cc))
        c.a(c.say("transfer_say"))
        summ = r.choice(["Customer %s asks for a person: baggage / compensation / assistance request (%s)." % (u["user_id"], cc),
                         "Handover requested by %s; topic outside self-service (%s)." % (u["user_id"], cc)])
        c.tool("transfer_to_human_agents", {"summary": summ}, {"status": "transferred", "queue": "customer_care"})
        return {"traced": False}


# ---------------------------------------------------------------- feedback
COMMENTS = {
    "A": {"en": ["cancelled my booking without asking me", "I only asked a question and it cancelled my flight",
                 "never agreed to the cancellation"],
          "de": ["hat ohne Rückfrage storniert", "ich hatte nur gefragt, und die Buchung war weg"],
          "es": ["canceló mi reserva sin preguntarme", "solo pregunté y me anuló el vuelo"]},
    "B": {"en": ["cancelled my other trip as well", "it cancelled a booking I wanted to keep"],
          "de": ["hat auch meine zweite Buchung storniert", "falsche Buchung storniert"],
          "es": ["también canceló mi otra reserva", "canceló una reserva que quería mantener"]},
    "C": {"en": ["couldn't search my multi-city trip", "search kept failing for three flights", "search broken"],
          "de": ["Suche für mehrere Strecken funktioniert nicht", "Suche ging nicht"],
          "es": ["no pudo buscar mi viaje de varias ciudades", "el buscador falló"]},
    "D": {"en": ["couldn't find my reservation", "kept looking up the same code", "booking not found, useless"],
          "de": ["hat meine Buchung nicht gefunden", "Buchung nicht gefunden"],
          "es": ["no encontró mi reserva", "no aparecía mi reserva"]},
    "E": {"en": ["payment failed with my own card", "said my card didn't exist", "payment error"],
          "de": ["Zahlung mit meiner Karte schlug fehl", "Karte angeblich nicht gefunden"],
          "es": ["falló el pago con mi tarjeta", "dijo que mi tarjeta no existía"]},
    "F": {"en": ["prices in dollars although I asked for euros", "asked for EUR, got USD", "wrong currency"],
          "de": ["Preise in Dollar statt Euro", "falsche Währung"],
          "es": ["precios en dólares aunque pedí euros", "moneda equivocada"]},
}
POS = {"en": ["quick and easy", "very helpful", "sorted in a minute", "great, thanks", "smooth booking"],
       "de": ["schnell und unkompliziert", "sehr hilfreich", "top"],
       "es": ["rápido y fácil", "muy amable", "genial"]}
NEG_NOISE = {"en": ["fares are way too expensive", "wish basic economy could be changed", "took a while",
                    "I wanted a person straight away"],
             "de": ["zu teuer", "Basic Economy ist unflexibel"],
             "es": ["demasiado caro", "la tarifa básica no deja cambiar nada"]}


DESC = {
    "cancel-without-confirmation": "The customer only asks whether a reservation can be cancelled; the agent calls cancel_reservation (and refund) at once, without asking for confirmation as the prompt requires.",
    "extra-cancellation": "The customer confirms cancelling one reservation; in the same turn the agent also cancels (and refunds) another reservation of theirs that nobody asked about.",
    "three-leg-search-fails": "search_flights with three legs always fails (timeouts, upstream errors with varying messages); searches with one or two legs work. The agent should split multi-city searches.",
    "repeated-failing-call": "get_reservation fails with 'reservation ... not found' and the agent calls it again with the same reservation_id, two or three times in all, instead of asking the customer to check the code.",
    "made-up-payment-id": "The agent builds payment_id from the card's last four digits the customer typed (credit_card_7334) instead of the id get_user_details returned; book_reservation/refund fail with payment method not found.",
    "wrong-currency": "The customer asks for fares in EUR; the agent quotes USD; the customer usually corrects it and the agent apologises.",
}
KEY = {"A": "cancel-without-confirmation", "B": "extra-cancellation", "C": "three-leg-search-fails",
       "D": "repeated-failing-call", "E": "made-up-payment-id", "F": "wrong-currency"}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, default=SEED)
    ap.add_argument("--n", type=int, default=N)
    ap.add_argument("--out-dir", required=True, help="where to write the three files")
    a = ap.parse_args()
    g = Gen(a.seed)
    r = g.r
    # timestamps: daytime-weighted, sorted
    ts = []
    for _ in range(a.n):
        day = r.randrange(DAYS)
        hour = min(23, max(0, int(r.gauss(14, 4))))
        ts.append(START + dt.timedelta(days=day, hours=hour, minutes=r.randrange(60), seconds=r.randrange(60)))
    ts.sort()
    kinds = [("A", 0.06), ("B", 0.055), ("C", 0.06), ("D", 0.055), ("E", 0.06), ("F", 0.065),
             ("search", 0.12), ("book", 0.14), ("cancel", 0.10), ("cancel_both", 0.035), ("change", 0.11),
             ("status", 0.065), ("multi", 0.045), ("transfer", 0.03)]
    tot = sum(w for _, w in kinds)
    truth = {k: {"interactions": [], "traced": []} for k in "ABCDEF"}
    lines, fb = [], []
    for i, t in enumerate(ts):
        x = r.random() * tot
        for kind, w in kinds:
            x -= w
            if x < 0:
                break
        y = r.random()
        lang = "en" if y < 0.5 else ("de" if y < 0.75 else "es")
        u = r.choice(g.w.users[lang])
        c = Conv(r, lang)
        eur_p = {"en": 0.25, "de": 0.7, "es": 0.65}[lang]
        cur_pref = "EUR" if r.random() < eur_p else ("USD" if r.random() < 0.2 else None)
        mistake = kind if kind in "ABCDEF" and len(kind) == 1 else None
        if kind == "A":
            out = g.cancel_flow(c, u, t, "A")
        elif kind == "B":
            out = g.cancel_flow(c, u, t, "B")
        elif kind == "C":
            out = g.multicity_flow(c, u, t, "C")
        elif kind == "D":
            out = g.status_flow(c, u, t, "D")
        elif kind == "E":
            if r.random() < 0.7:
                out = g.search_flow(c, u, t, cur_pref, True, "E")
            else:
                out = g.cancel_flow(c, u, t, "E")
        elif kind == "F":
            out = g.search_flow(c, u, t, "EUR", r.random() < 0.5, "F")
        elif kind == "search":
            out = g.search_flow(c, u, t, cur_pref, False)
        elif kind == "book":
            out = g.search_flow(c, u, t, cur_pref, True)
        elif kind == "cancel":
            out = g.cancel_flow(c, u, t)
        elif kind == "cancel_both":
            out = g.cancel_both_flow(c, u, t)
        elif kind == "change":
            out = g.change_flow(c, u, t)
        elif kind == "status":
            out = g.status_flow(c, u, t)
        elif kind == "multi":
            out = g.multicity_flow(c, u, t)
        else:
            out = g.transfer_flow(c, u, t)
        iid = "nv-%05d" % (i + 1)
        traced = out["traced"]
        # explicit feedback
        if mistake:
            rated = r.random() < 0.42
        else:
            rated = r.random() < 0.18
        if rated:
            ft = t + dt.timedelta(minutes=r.randrange(3, 240))
            rec = {"interaction_id": iid, "timestamp": ft.strftime("%Y-%m-%dT%H:%M:%SZ")}
            z = r.random()
            if mistake:
                if z < 0.85:
                    rec["rating"] = "negative"
                    if r.random() < 0.6:
                        rec["comment"] = r.choice(COMMENTS[mistake][lang])
                        traced = True
                elif z < 0.93:
                    rec["rating"] = "neutral"
                else:
                    rec["rating"] = "positive"
            else:
                if z < 0.8:
                    rec["rating"] = "positive"
                    if r.random() < 0.4:
                        rec["comment"] = r.choice(POS[lang])
                elif z < 0.87:
                    rec["rating"] = "neutral"
                else:
                    rec["rating"] = "negative"
                    if r.random() < 0.5:
                        rec["comment"] = r.choice(NEG_NOISE[lang])
            fb.append(rec)
        if mistake:
            truth[mistake]["interactions"].append(iid)
            if traced:
                truth[mistake]["traced"].append(iid)
        loc = {"en": ["en-US", "en-GB", "en-CA", "en-IE"], "de": ["de-DE", "de-AT", "de-CH"],
               "es": ["es-ES", "es-MX", "es-CO"]}[lang]
        rec = {"id": iid, "session_id": "sess-%05d" % (i + 1), "user_id": u["user_id"],
               "timestamp": t.strftime("%Y-%m-%dT%H:%M:%SZ"), "config_version": "skye-2027.04",
               "messages": c.m,
               "metadata": {"channel": r.choice(["app", "app", "web", "whatsapp"]), "locale": r.choice(loc)}}
        lines.append(json.dumps(rec, ensure_ascii=False))
    od = a.out_dir
    os.makedirs(od, exist_ok=True)
    with open(os.path.join(od, "interactions.jsonl"), "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    fb.sort(key=lambda x: x["interaction_id"])
    with open(os.path.join(od, "feedback.jsonl"), "w", encoding="utf-8") as f:
        for rec in fb:
            f.write(json.dumps(rec, ensure_ascii=False) + "\n")
    tr = {"schema": "reverie.truth/v1", "dataset": "airline-heldout", "interactions": a.n, "problems": []}
    for k in "ABCDEF":
        tr["problems"].append({"id": KEY[k], "description": DESC[KEY[k]], "interactions": truth[k]["interactions"],
                               "traced": truth[k]["traced"]})
    with open(os.path.join(od, "truth.json"), "w", encoding="utf-8") as f:
        json.dump(tr, f, indent=2, ensure_ascii=False)
        f.write("\n")
    for k in "ABCDEF":
        print("%-28s planted %4d (%.1f%%) traced %4d" % (KEY[k], len(truth[k]["interactions"]),
                                                          100.0 * len(truth[k]["interactions"]) / a.n,
                                                          len(truth[k]["traced"])))
    print("feedback %d (%.1f%%)" % (len(fb), 100.0 * len(fb) / a.n))


if __name__ == "__main__":
    main()
