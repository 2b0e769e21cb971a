// Deterministic multilingual filler for the tokenizer benchmark: sentences of common Chinese characters,
// Japanese (kanji + kana), Korean syllables, Russian words, emoji with ZWJ sequences and numbers, mixed
// with English. Usage: node multilingual.cjs BYTES > out.txt
const bytes = Number(process.argv[2] || 1 << 20);
let s = 2463534242;
const rnd = (n) => ((s ^= s << 13), (s ^= s >>> 17), (s ^= s << 5), (s >>> 0) % n);
const zh = "的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下过子说产种面而方后多定行学法所民得经十三之进着等部度家电力里如水化高自二理起小物现实加量都两体制机当使点从业本去把性好应开它合还因由其些然前外天政四日那社义事平形相全表间样与关各重新线内数正心反你明看原又么利比或但质气第向道命此变条只没结解问意建月公无系军很情者最立代想已通并提直题党程展五果料象员革位入常文总次品式活设及管特件长求老头基资边流路级少图山统接知较将组见计别她手角期根论运农指几九区强放决西被干做必战先回则任取据处理";
const ja = "私は日本語を勉強していますこれはとても面白いですね東京大阪京都のカタカナとひらがなを使ってコンピューターで書きましたありがとうございます";
const ko = ["안녕하세요", "감사합니다", "한국어", "컴퓨터", "프로그램", "데이터", "학습", "모델", "서울", "사람", "시간", "오늘"];
const ru = ["Привет", "мир", "модель", "данные", "обучение", "язык", "текст", "время", "человек", "работа"];
const en = ["the", "model", "tokenizer", "is", "fast", "and", "deterministic", "with", "data", "of", "training"];
const emoji = ["😀", "👍🏽", "👨‍👩‍👧‍👦", "🏳️‍🌈", "🇯🇵", "❤️", "🚀", "✨", "🤖", "🎉"];
const out = [];
let n = 0;
while (n < bytes) {
  let line;
  switch (rnd(6)) {
    case 0: { let t = ""; for (let i = 0, k = 10 + rnd(40); i < k; ++i) t += zh[rnd(zh.length)]; line = t + "。"; break; }
    case 1: { const a = rnd(ja.length - 20); line = ja.slice(a, a + 8 + rnd(12)) + "。"; break; }
    case 2: line = Array.from({ length: 3 + rnd(8) }, () => ko[rnd(ko.length)]).join(" ") + "."; break;
    case 3: line = Array.from({ length: 3 + rnd(10) }, () => ru[rnd(ru.length)]).join(" ") + "."; break;
    case 4: line = Array.from({ length: 3 + rnd(10) }, () => en[rnd(en.length)] + (rnd(4) ? "" : emoji[rnd(emoji.length)])).join(" "); break;
    default: line = `${rnd(100000)} + ${rnd(1000)}.${rnd(100)} = ${rnd(10000000)} (${2000 + rnd(30)}年${1 + rnd(12)}月)`;
  }
  out.push(line);
  n += Buffer.byteLength(line) + 1;
}
process.stdout.write(out.join("\n") + "\n");
