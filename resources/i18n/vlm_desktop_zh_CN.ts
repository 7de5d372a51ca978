<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="zh_CN" sourcelanguage="en">
<context>
    <name>AboutDialog</name>
    <message>
        <source>not installed</source>
        <translation>未安装</translation>
    </message>
    <message>
        <source>&lt;b&gt;{title}:&lt;/b&gt; {name} {version} on {device} ({dtype})</source>
        <translation>&lt;b&gt;{title}：&lt;/b&gt;{name} {version}，运行于 {device}（{dtype}）</translation>
    </message>
    <message>
        <source>&lt;b&gt;Weights licence:&lt;/b&gt; {licence}</source>
        <translation>&lt;b&gt;权重许可：&lt;/b&gt;{licence}</translation>
    </message>
    <message>
        <source>not stated</source>
        <translation>未注明</translation>
    </message>
    <message>
        <source>&lt;b&gt;Source:&lt;/b&gt; {source}</source>
        <translation>&lt;b&gt;来源：&lt;/b&gt;{source}</translation>
    </message>
    <message>
        <source>&lt;p&gt;No model is loaded.&lt;/p&gt;</source>
        <translation>&lt;p&gt;尚未加载模型。&lt;/p&gt;</translation>
    </message>
    <message>
        <source>Model</source>
        <translation>模型</translation>
    </message>
    <message>
        <source>Catalog search model</source>
        <translation>商品目录搜索模型</translation>
    </message>
    <message>
        <source>&lt;p&gt;Captions, answers and heat maps from a vision-language model that runs on your own computer, offline.&lt;/p&gt;</source>
        <translation>&lt;p&gt;由在您自己的电脑上离线运行的视觉语言模型生成图片描述、回答问题并显示热力图。&lt;/p&gt;</translation>
    </message>
    <message>
        <source>&lt;p&gt;VLM Desktop is licensed under the Apache License 2.0. Qt and PySide6 are used under the LGPLv3.&lt;/p&gt;</source>
        <translation>&lt;p&gt;VLM Desktop 采用 Apache License 2.0 许可。Qt 与 PySide6 依 LGPLv3 使用。&lt;/p&gt;</translation>
    </message>
    <message>
        <source>About {app}</source>
        <translation>关于 {app}</translation>
    </message>
    <message>
        <source>About text</source>
        <translation>关于信息</translation>
    </message>
</context>
<context>
    <name>AdaptDialog</name>
    <message>
        <source>Title finds its item, top 1</source>
        <translation>按标题找到该商品（前 1 名）</translation>
    </message>
    <message>
        <source>Title finds its item, top 10</source>
        <translation>按标题找到该商品（前 10 名）</translation>
    </message>
    <message>
        <source>Similar items, same category (5)</source>
        <translation>相似商品同属一类（前 5 个）</translation>
    </message>
    <message>
        <source>Same, in the text–image space</source>
        <translation>同上，在图文联合空间中</translation>
    </message>
    <message>
        <source>Adapt Model to This Catalog</source>
        <translation>让模型适配此商品目录</translation>
    </message>
    <message>
        <source>Teaches the built-in model this catalog&apos;s own words: its joint space is fine-tuned on the catalog&apos;s images and their titles, tags and categories. A fifth of the items is held out to measure it. Search keeps working on the current vectors until the new ones are complete.</source>
        <translation>让内置模型学习此商品目录自己的用词：用目录中的图片及其标题、标签和类别微调模型的图文联合空间。留出五分之一的商品用于评估。在新向量全部生成之前，搜索继续使用当前向量。</translation>
    </message>
    <message>
        <source>Most epochs to train; it stops earlier once the held-out recall stops improving</source>
        <translation>最多训练的轮数；留出集召回率不再提升时会提前停止</translation>
    </message>
    <message>
        <source>Maximum epochs</source>
        <translation>最多轮数</translation>
    </message>
    <message>
        <source>At most</source>
        <translation>最多</translation>
    </message>
    <message>
        <source>epochs</source>
        <translation>轮</translation>
    </message>
    <message>
        <source>before</source>
        <translation>适配前</translation>
    </message>
    <message>
        <source>after</source>
        <translation>适配后</translation>
    </message>
    <message>
        <source>chance</source>
        <translation>随机水平</translation>
    </message>
    <message>
        <source>Before and after</source>
        <translation>适配前后对比</translation>
    </message>
    <message>
        <source>Adapt</source>
        <translation>开始适配</translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation>取消</translation>
    </message>
    <message>
        <source>Revert to Base Model</source>
        <translation>恢复为基础模型</translation>
    </message>
    <message>
        <source>Search with the base model&apos;s vectors again (they were never changed)</source>
        <translation>重新使用基础模型的向量搜索（这些向量从未被改动）</translation>
    </message>
    <message>
        <source>Catalog &lt;b&gt;{name}&lt;/b&gt;: searching with its adapted model ({variant}).</source>
        <translation>商品目录 &lt;b&gt;{name}&lt;/b&gt;：正在使用适配后的模型（{variant}）搜索。</translation>
    </message>
    <message>
        <source>Catalog &lt;b&gt;{name}&lt;/b&gt;: searching with the base model.</source>
        <translation>商品目录 &lt;b&gt;{name}&lt;/b&gt;：正在使用基础模型搜索。</translation>
    </message>
    <message>
        <source>Close</source>
        <translation>关闭</translation>
    </message>
    <message>
        <source>Starting…</source>
        <translation>正在开始…</translation>
    </message>
    <message>
        <source>Cancelling…</source>
        <translation>正在取消…</translation>
    </message>
    <message>
        <source>Back on the base model ({variant} removed).</source>
        <translation>已恢复为基础模型（已删除 {variant}）。</translation>
    </message>
    <message>
        <source>The catalog already uses the base model.</source>
        <translation>此商品目录已在使用基础模型。</translation>
    </message>
    <message>
        <source>{held_out} held-out items (never trained on); {epochs} epochs, {each} s each, {total} s in all.</source>
        <translation>留出 {held_out} 个商品（从未用于训练）；共 {epochs} 轮，每轮 {each} 秒，总计 {total} 秒。</translation>
    </message>
    <message>
        <source>Now searching with the adapted model (epoch {epoch} kept).</source>
        <translation>现在使用适配后的模型搜索（保留第 {epoch} 轮）。</translation>
    </message>
    <message>
        <source>No epoch did better than the base model on the held-out items, so the catalog keeps the base model.</source>
        <translation>在留出的商品上没有任何一轮优于基础模型，因此商品目录继续使用基础模型。</translation>
    </message>
    <message>
        <source>Adapting failed: {message}</source>
        <translation>适配失败：{message}</translation>
    </message>
    <message>
        <source>Cancelled: the catalog still searches with the model it had.</source>
        <translation>已取消：商品目录仍使用原来的模型搜索。</translation>
    </message>
</context>
<context>
    <name>BusyIndicator</name>
    <message>
        <source>Busy</source>
        <translation>忙碌</translation>
    </message>
    <message>
        <source>Working</source>
        <translation>正在处理</translation>
    </message>
    <message>
        <source>The model is working</source>
        <translation>模型正在处理</translation>
    </message>
    <message>
        <source>Current task</source>
        <translation>当前任务</translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation>取消</translation>
    </message>
    <message>
        <source>Stop the current task (Esc)</source>
        <translation>停止当前任务（Esc）</translation>
    </message>
</context>
<context>
    <name>Capabilities</name>
    <message>
        <source>captions images</source>
        <translation>描述图片</translation>
    </message>
    <message>
        <source>answers questions</source>
        <translation>回答问题</translation>
    </message>
    <message>
        <source>finds similar images</source>
        <translation>查找相似图片</translation>
    </message>
    <message>
        <source>shows relevance maps</source>
        <translation>显示相关性热力图</translation>
    </message>
    <message>
        <source>caption images</source>
        <translation>描述图片</translation>
    </message>
    <message>
        <source>answer questions</source>
        <translation>回答问题</translation>
    </message>
    <message>
        <source>find similar images in a catalog</source>
        <translation>在商品目录中查找相似图片</translation>
    </message>
    <message>
        <source>show relevance maps</source>
        <translation>显示相关性热力图</translation>
    </message>
    <message>
        <source>caption</source>
        <translation>描述</translation>
    </message>
    <message>
        <source>answer</source>
        <translation>问答</translation>
    </message>
    <message>
        <source>embed</source>
        <translation>向量</translation>
    </message>
    <message>
        <source>relevance</source>
        <translation>相关性</translation>
    </message>
    <message>
        <source>Offers nothing this window can use</source>
        <translation>没有本窗口可用的功能</translation>
    </message>
    <message>
        <source>{some} and {last}</source>
        <translation>{some}和{last}</translation>
    </message>
    <message>
        <source>, </source>
        <translation>、</translation>
    </message>
    <message>
        <source>This model cannot {what} — choose another in Model ▸</source>
        <translation>此模型无法{what} — 请在“模型 ▸”中选择其他模型</translation>
    </message>
</context>
<context>
    <name>CaptionPanel</name>
    <message>
        <source>Caption</source>
        <translation>图片描述</translation>
    </message>
    <message>
        <source>The model&apos;s caption of the image. Click a highlighted word to see where the model looked for it.</source>
        <translation>模型对图片的描述。点击高亮的词语，查看模型在图中关注的位置。</translation>
    </message>
    <message>
        <source>Caption heading</source>
        <translation>图片描述标题</translation>
    </message>
    <message>
        <source>Caption status</source>
        <translation>图片描述状态</translation>
    </message>
    <message>
        <source>Evidence</source>
        <translation>依据</translation>
    </message>
    <message>
        <source>What the model based the caption on</source>
        <translation>模型生成描述的依据</translation>
    </message>
    <message>
        <source>Catalog category</source>
        <translation>目录类别</translation>
    </message>
    <message>
        <source>The category most of the image&apos;s closest catalog items are in</source>
        <translation>与这张图片最相近的目录商品大多所属的类别</translation>
    </message>
    <message>
        <source>Loading model…</source>
        <translation>正在加载模型…</translation>
    </message>
    <message>
        <source>Evidence: {text}</source>
        <translation>依据：{text}</translation>
    </message>
    <message>
        <source>In this catalog: {category} ({agreeing} of {considered} closest items)</source>
        <translation>在此目录中：{category}（最相近的 {considered} 件商品中有 {agreeing} 件）</translation>
    </message>
</context>
<context>
    <name>CatalogImportDialog</name>
    <message>
        <source>(not in the file)</source>
        <translation>（文件中没有）</translation>
    </message>
    <message>
        <source>image file, relative to the folder</source>
        <translation>图片文件，相对于文件夹的路径</translation>
    </message>
    <message>
        <source>tags, separated by ;</source>
        <translation>标签，用 ; 分隔</translation>
    </message>
    <message>
        <source>your item id (SKU)</source>
        <translation>您的商品编号（SKU）</translation>
    </message>
    <message>
        <source>Image</source>
        <translation>图片</translation>
    </message>
    <message>
        <source>Title</source>
        <translation>标题</translation>
    </message>
    <message>
        <source>Category</source>
        <translation>类别</translation>
    </message>
    <message>
        <source>Price</source>
        <translation>价格</translation>
    </message>
    <message>
        <source>Currency</source>
        <translation>货币</translation>
    </message>
    <message>
        <source>Tags</source>
        <translation>标签</translation>
    </message>
    <message>
        <source>Id</source>
        <translation>编号</translation>
    </message>
    <message>
        <source>Url</source>
        <translation>网址</translation>
    </message>
    <message>
        <source>Import folder as catalog</source>
        <translation>将文件夹导入为商品目录</translation>
    </message>
    <message>
        <source>No metadata file: titles come from file names</source>
        <translation>没有元数据文件：标题取自文件名</translation>
    </message>
    <message>
        <source>Metadata file</source>
        <translation>元数据文件</translation>
    </message>
    <message>
        <source>Choose…</source>
        <translation>选择…</translation>
    </message>
    <message>
        <source>Folder</source>
        <translation>文件夹</translation>
    </message>
    <message>
        <source>Metadata</source>
        <translation>元数据</translation>
    </message>
    <message>
        <source>Column for {field}</source>
        <translation>“{field}”对应的列</translation>
    </message>
    <message>
        <source>Import</source>
        <translation>导入</translation>
    </message>
    <message>
        <source>Metadata (*.csv *.json *.jsonl *.ndjson);;All files (*)</source>
        <translation>元数据 (*.csv *.json *.jsonl *.ndjson);;所有文件 (*)</translation>
    </message>
    <message>
        <source>Cannot read {name}: {error}</source>
        <translation>无法读取 {name}：{error}</translation>
    </message>
    <message>
        <source>Choose the column that names each image file.</source>
        <translation>请选择给出每个图片文件名的列。</translation>
    </message>
</context>
<context>
    <name>CatalogModel</name>
    <message>
        <source>match: how alike the item&apos;s picture is to the query (cosine similarity of the model&apos;s vectors; 1 would be the same picture). A similarity, not a probability: levels differ between models; compare items, not absolute numbers.</source>
        <translation>匹配度：商品图片与查询的相似程度（模型向量的余弦相似度；1 表示同一张图片）。这是相似度，不是概率：不同模型的数值水平不同，请比较商品之间的高低，而不是看绝对数值。</translation>
    </message>
    <message>
        <source>words match</source>
        <translation>词语匹配</translation>
    </message>
    <message>
        <source>match {score}</source>
        <translation>匹配度 {score}</translation>
    </message>
    <message>
        <source> + words</source>
        <translation> + 词语</translation>
    </message>
    <message>
        <source>match {score} — {tip}</source>
        <translation>匹配度 {score} — {tip}</translation>
    </message>
    <message>
        <source>Words of the query are in its title, tags or category.</source>
        <translation>查询中的词语出现在它的标题、标签或类别中。</translation>
    </message>
</context>
<context>
    <name>CatalogPanel</name>
    <message>
        <source>Catalog items</source>
        <translation>商品列表</translation>
    </message>
    <message>
        <source>Demo catalog</source>
        <translation>示例商品目录</translation>
    </message>
    <message>
        <source>{status} — imported: {added} new, {updated} changed, {removed} removed</source>
        <translation>{status} — 已导入：新增 {added} 个，更改 {updated} 个，删除 {removed} 个</translation>
    </message>
    <message>
        <source>, {n} unreadable files skipped</source>
        <translation>，跳过 {n} 个无法读取的文件</translation>
    </message>
    <message>
        <source>; {n} metadata rows refused (hover for details)</source>
        <translation>；拒绝了 {n} 行元数据（悬停查看详情）</translation>
    </message>
    <message>
        <source>row {row}: {reason}</source>
        <translation>第 {row} 行：{reason}</translation>
    </message>
    <message>
        <source>What the match numbers mean</source>
        <translation>匹配度数值的含义</translation>
    </message>
    <message>
        <source>Catalog file: {path}</source>
        <translation>商品目录文件：{path}</translation>
    </message>
    <message>
        <source>{n} items in {name}</source>
        <translation>{name} 中共 {n} 个商品</translation>
    </message>
    <message>
        <source>Loading the catalog search model…</source>
        <translation>正在加载商品目录搜索模型…</translation>
    </message>
    <message>
        <source>Model: {name}</source>
        <translation>模型：{name}</translation>
    </message>
    <message>
        <source>Catalog vectors come from {name}; each model&apos;s vectors are kept, so switching back needs no re-indexing.</source>
        <translation>商品目录向量来自 {name}；每个模型的向量都会保留，切换回来无需重新建立索引。</translation>
    </message>
    <message>
        <source>Catalog search is unavailable: {message}</source>
        <translation>商品目录搜索不可用：{message}</translation>
    </message>
    <message>
        <source>Looking for similar items…</source>
        <translation>正在查找相似商品…</translation>
    </message>
    <message>
        <source>Searching for “{text}”…</source>
        <translation>正在搜索“{text}”…</translation>
    </message>
    <message>
        <source>More like “{title}”…</source>
        <translation>更多类似“{title}”的商品…</translation>
    </message>
    <message>
        <source>Marked “{title}” as bought.</source>
        <translation>已将“{title}”标记为已购买。</translation>
    </message>
    <message>
        <source>Purchase history cleared ({n} purchases forgotten).</source>
        <translation>已清除购买记录（删除了 {n} 条购买）。</translation>
    </message>
    <message>
        <source>Comparing with “{title}”…</source>
        <translation>正在与“{title}”比较…</translation>
    </message>
    <message>
        <source>Why similar: matching regions are highlighted on both images.</source>
        <translation>为何相似：两张图片中相互匹配的区域已高亮显示。</translation>
    </message>
    <message>
        <source>Why similar: where each shows the item are highlighted on both images.</source>
        <translation>为何相似：两张图片中显示该商品的位置已高亮显示。</translation>
    </message>
    <message>
        <source>, </source>
        <translation>、</translation>
    </message>
    <message>
        <source>Mark items as bought to get recommendations.</source>
        <translation>将商品标记为已购买即可获得推荐。</translation>
    </message>
    <message>
        <source>Recommendations appear as the catalog is indexed.</source>
        <translation>商品目录建立索引后会出现推荐。</translation>
    </message>
    <message>
        <source>Nothing left to recommend from your purchases.</source>
        <translation>根据您的购买记录，已没有可推荐的商品。</translation>
    </message>
    <message>
        <source>Catalog {job} failed: {message}</source>
        <translation>商品目录任务“{job}”失败：{message}</translation>
    </message>
    <message>
        <source>{name} · {n} items</source>
        <translation>{name} · {n} 件商品</translation>
    </message>
    <message>
        <source>Indexing… {n}/{total}: similar items appear as pictures are indexed.</source>
        <translation>正在建立索引… {n}/{total}：图片建立索引后会显示相似商品。</translation>
    </message>
    <message>
        <source>No matching items.</source>
        <translation>没有匹配的商品。</translation>
    </message>
    <message>
        <source>Closest items, low similarity (below {score}, what random pairs of catalog items reach 1 time in 20)</source>
        <translation>最接近的商品，相似度低（低于 {score}，即商品目录中随机两件商品每 20 次有 1 次能达到的水平）</translation>
    </message>
    <message>
        <source>{n} items</source>
        <translation>{n} 个商品</translation>
    </message>
    <message>
        <source> — from the {n} of {total} items indexed so far</source>
        <translation> — 来自目前已建立索引的 {n}/{total} 个商品</translation>
    </message>
    <message>
        <source>“match 0.71” is the cosine similarity of the model&apos;s vectors for the item&apos;s picture and for the query: 1 is the same picture, 0 unrelated. It is a similarity, not a probability or a percentage, and its levels differ between models: compare items with each other.
“+ words”: the query&apos;s words are in the item&apos;s title, tags or category too.
When the best match is below what random pairs of this catalog&apos;s items reach 1 time in 20, the list is headed “Closest items, low similarity”.</source>
        <translation>“匹配度 0.71”是模型为商品图片和查询生成的向量之间的余弦相似度：1 表示同一张图片，0 表示毫不相关。它是相似度，不是概率或百分比，不同模型的数值水平也不同：请在商品之间相互比较。
“+ 词语”：查询中的词语也出现在商品的标题、标签或类别中。
当最佳匹配低于此商品目录中随机两件商品每 20 次有 1 次能达到的水平时，列表标题为“最接近的商品，相似度低”。</translation>
    </message>
    <message>
        <source>For this catalog and model that level is {score}.</source>
        <translation>对此商品目录和模型，该水平为 {score}。</translation>
    </message>
    <message>
        <source>No purchase history.</source>
        <translation>没有购买记录。</translation>
    </message>
    <message>
        <source>{n} marked as bought here</source>
        <translation>{n} 条在此标记为已购买</translation>
    </message>
    <message>
        <source>{n} from {file}</source>
        <translation>{n} 条来自 {file}</translation>
    </message>
    <message>
        <source>{n} recorded earlier</source>
        <translation>{n} 条为早先记录</translation>
    </message>
    <message>
        <source>History: {n} purchases ({sources})</source>
        <translation>购买记录：{n} 条（{sources}）</translation>
    </message>
    <message>
        <source>No catalog is open. Use the Catalog menu to open one, import a folder of product pictures, or open the demo catalog.</source>
        <translation>尚未打开商品目录。请通过“商品目录”菜单打开一个目录、导入商品图片文件夹，或打开示例商品目录。</translation>
    </message>
    <message>
        <source>No items match “{text}” within the filters. Clear the category and price filters, or try other words.</source>
        <translation>在筛选条件内没有与“{text}”匹配的商品。请清除类别和价格筛选，或换用其他词语。</translation>
    </message>
    <message>
        <source>No items match “{text}”. Try other words or another search mode.</source>
        <translation>没有与“{text}”匹配的商品。请换用其他词语或其他搜索方式。</translation>
    </message>
    <message>
        <source>Similar pictures need a catalog search model, and none can be used. Keyword search still works: type words above and press Enter.</source>
        <translation>查找相似图片需要商品目录搜索模型，但目前没有可用的模型。关键词搜索仍然可用：在上方输入词语并按回车键。</translation>
    </message>
    <message>
        <source>Loading the catalog search model… Keyword search works meanwhile.</source>
        <translation>正在加载商品目录搜索模型…在此期间可使用关键词搜索。</translation>
    </message>
    <message>
        <source>This catalog is not indexed yet: similar items appear as its pictures are indexed. Keyword search works meanwhile.</source>
        <translation>此商品目录尚未建立索引：图片建立索引后会显示相似商品。在此期间可使用关键词搜索。</translation>
    </message>
    <message>
        <source>Open or drop an image to see the catalog items that look like it, or search the catalog above.</source>
        <translation>打开或拖入一张图片，即可查看与其相似的商品；也可以在上方搜索商品目录。</translation>
    </message>
    <message>
        <source>No items pass the category and price filters: widen them.</source>
        <translation>没有商品符合类别和价格筛选条件：请放宽筛选。</translation>
    </message>
    <message>
        <source>Indexed {done}/{total} ({rate} items/s)</source>
        <translation>已建立索引 {done}/{total}（每秒 {rate} 个）</translation>
    </message>
    <message>
        <source>Indexed {done}/{total} ({rate} items/s, about {eta} left)</source>
        <translation>已建立索引 {done}/{total}（每秒 {rate} 个，约剩 {eta}）</translation>
    </message>
    <message>
        <source>{n} s</source>
        <translation>{n} 秒</translation>
    </message>
    <message>
        <source>{n} min</source>
        <translation>{n} 分钟</translation>
    </message>
    <message>
        <source>{n} h</source>
        <translation>{n} 小时</translation>
    </message>
    <message>
        <source>any</source>
        <translation>不限</translation>
    </message>
    <message>
        <source>{name} (0: any)</source>
        <translation>{name}（0：不限）</translation>
    </message>
</context>
<context>
    <name>CatalogSearchBar</name>
    <message>
        <source>No catalog</source>
        <translation>未打开商品目录</translation>
    </message>
    <message>
        <source>Catalog name and size</source>
        <translation>商品目录名称和大小</translation>
    </message>
    <message>
        <source>Search the catalog…</source>
        <translation>搜索商品目录…</translation>
    </message>
    <message>
        <source>Catalog search</source>
        <translation>商品目录搜索</translation>
    </message>
    <message>
        <source>Search titles, tags and categories; press Enter</source>
        <translation>搜索标题、标签和类别；按回车键</translation>
    </message>
    <message>
        <source>Catalog</source>
        <translation>商品目录</translation>
    </message>
    <message>
        <source>Open, import or switch catalogs</source>
        <translation>打开、导入或切换商品目录</translation>
    </message>
    <message>
        <source>Catalog menu</source>
        <translation>商品目录菜单</translation>
    </message>
    <message>
        <source>hybrid</source>
        <translation>混合</translation>
    </message>
    <message>
        <source>vector</source>
        <translation>向量</translation>
    </message>
    <message>
        <source>keyword</source>
        <translation>关键词</translation>
    </message>
    <message>
        <source>Hybrid: keywords and meaning fused; vector: meaning only; keyword: title, tags and category words</source>
        <translation>混合：结合关键词与语义；向量：只看语义；关键词：标题、标签和类别中的词语</translation>
    </message>
    <message>
        <source>Search mode</source>
        <translation>搜索方式</translation>
    </message>
    <message>
        <source>Category filter</source>
        <translation>类别筛选</translation>
    </message>
    <message>
        <source>Show only items of one category</source>
        <translation>只显示某一类别的商品</translation>
    </message>
    <message>
        <source>Minimum price</source>
        <translation>最低价格</translation>
    </message>
    <message>
        <source>Maximum price</source>
        <translation>最高价格</translation>
    </message>
    <message>
        <source>Price</source>
        <translation>价格</translation>
    </message>
    <message>
        <source>All categories</source>
        <translation>所有类别</translation>
    </message>
</context>
<context>
    <name>CatalogSources</name>
    <message>
        <source>Open catalog…</source>
        <translation>打开商品目录…</translation>
    </message>
    <message>
        <source>Import folder as catalog…</source>
        <translation>将文件夹导入为商品目录…</translation>
    </message>
    <message>
        <source>Demo catalog</source>
        <translation>示例商品目录</translation>
    </message>
    <message>
        <source>Retry unreadable files ({n})</source>
        <translation>重试无法读取的文件（{n}）</translation>
    </message>
    <message>
        <source>Try the files that failed again (e.g. after fixing them or installing a codec)</source>
        <translation>再次尝试读取失败的文件（例如修复文件或安装解码器之后）</translation>
    </message>
    <message>
        <source>Adapt Model to This Catalog…</source>
        <translation>让模型适配此商品目录…</translation>
    </message>
    <message>
        <source>Teach the built-in model this catalog&apos;s titles, with a before/after measurement (or revert to the base model)</source>
        <translation>让内置模型学习此商品目录的标题，并对比适配前后的效果（也可恢复为基础模型）</translation>
    </message>
    <message>
        <source>Recent catalogs</source>
        <translation>最近的商品目录</translation>
    </message>
    <message>
        <source>Open catalog</source>
        <translation>打开商品目录</translation>
    </message>
    <message>
        <source>Catalog database (*.db);;All files (*)</source>
        <translation>商品目录数据库 (*.db);;所有文件 (*)</translation>
    </message>
    <message>
        <source>Opening {name}…</source>
        <translation>正在打开 {name}…</translation>
    </message>
    <message>
        <source>Opening the demo catalog…</source>
        <translation>正在打开示例商品目录…</translation>
    </message>
    <message>
        <source>Import a folder of product images</source>
        <translation>导入商品图片文件夹</translation>
    </message>
    <message>
        <source>Importing {folder}…</source>
        <translation>正在导入 {folder}…</translation>
    </message>
</context>
<context>
    <name>ChatEntry</name>
    <message>
        <source>Question: {text}</source>
        <translation>问题：{text}</translation>
    </message>
    <message>
        <source>Question</source>
        <translation>问题</translation>
    </message>
    <message>
        <source>Thinking…</source>
        <translation>正在思考…</translation>
    </message>
    <message>
        <source>Answer status</source>
        <translation>回答状态</translation>
    </message>
    <message>
        <source>Show where</source>
        <translation>显示位置</translation>
    </message>
    <message>
        <source>Show where the model looked to answer this question</source>
        <translation>显示模型回答此问题时关注的位置</translation>
    </message>
    <message>
        <source>Show where the model looked</source>
        <translation>显示模型关注的位置</translation>
    </message>
    <message>
        <source>Evidence: {text}</source>
        <translation>依据：{text}</translation>
    </message>
    <message>
        <source>Evidence</source>
        <translation>依据</translation>
    </message>
    <message>
        <source>What the model based the answer on</source>
        <translation>模型回答的依据</translation>
    </message>
</context>
<context>
    <name>ChatPanel</name>
    <message>
        <source>Type a question and press Enter. Up recalls earlier questions.</source>
        <translation>输入问题后按回车键。按上方向键可调出之前的问题。</translation>
    </message>
    <message>
        <source>Ask about the image…</source>
        <translation>就图片提问…</translation>
    </message>
    <message>
        <source>Questions and answers</source>
        <translation>问答</translation>
    </message>
    <message>
        <source>Questions</source>
        <translation>提问</translation>
    </message>
    <message>
        <source>Ask about the image, for example: “What is this?”, “What colour is it?”, “Is there a cat?”, “Where is the cup?”, “How many birds?”</source>
        <translation>就图片提问，例如：“这是什么？”“它是什么颜色？”“有没有猫？”“杯子在哪里？”“有几只鸟？”</translation>
    </message>
    <message>
        <source>Question hint</source>
        <translation>提问提示</translation>
    </message>
    <message>
        <source>Why questions are unavailable</source>
        <translation>无法提问的原因</translation>
    </message>
    <message>
        <source>The active model decides what the window can do</source>
        <translation>当前模型决定窗口能做什么</translation>
    </message>
    <message>
        <source>Conversation</source>
        <translation>对话</translation>
    </message>
    <message>
        <source>The conversation about the current image</source>
        <translation>关于当前图片的对话</translation>
    </message>
    <message>
        <source>Question</source>
        <translation>问题</translation>
    </message>
    <message>
        <source>Clear question</source>
        <translation>清除问题</translation>
    </message>
    <message>
        <source>Clear the question</source>
        <translation>清除问题</translation>
    </message>
    <message>
        <source>&amp;Ask</source>
        <translation>提问(&amp;A)</translation>
    </message>
    <message>
        <source>Ask</source>
        <translation>提问</translation>
    </message>
    <message>
        <source>Ask the question (Enter)</source>
        <translation>提交问题（回车）</translation>
    </message>
</context>
<context>
    <name>ConfidenceBar</name>
    <message>
        <source>Confidence {percent} (high)</source>
        <translation>置信度 {percent}（高）</translation>
    </message>
    <message>
        <source>Confidence {percent} (medium)</source>
        <translation>置信度 {percent}（中）</translation>
    </message>
    <message>
        <source>Confidence {percent} (low)</source>
        <translation>置信度 {percent}（低）</translation>
    </message>
    <message>
        <source>Confidence</source>
        <translation>置信度</translation>
    </message>
    <message>
        <source>How sure the model is about this text</source>
        <translation>模型对这段文字的把握程度</translation>
    </message>
</context>
<context>
    <name>CrashDialog</name>
    <message>
        <source>{app} — unexpected error</source>
        <translation>{app} — 意外错误</translation>
    </message>
    <message>
        <source>Unexpected error</source>
        <translation>意外错误</translation>
    </message>
    <message>
        <source>&lt;b&gt;{app} hit an unexpected error.&lt;/b&gt;&lt;br&gt;{message}&lt;br&gt;&lt;br&gt;The details are in the log file:&lt;br&gt;&lt;code&gt;{log}&lt;/code&gt;&lt;br&gt;Please include them when you report the problem.</source>
        <translation>&lt;b&gt;{app} 遇到了意外错误。&lt;/b&gt;&lt;br&gt;{message}&lt;br&gt;&lt;br&gt;详细信息在日志文件中：&lt;br&gt;&lt;code&gt;{log}&lt;/code&gt;&lt;br&gt;报告问题时请附上这些信息。</translation>
    </message>
    <message>
        <source>Error details</source>
        <translation>错误详情</translation>
    </message>
    <message>
        <source>The technical details of the error</source>
        <translation>错误的技术细节</translation>
    </message>
    <message>
        <source>&amp;Copy details</source>
        <translation>复制详情(&amp;C)</translation>
    </message>
    <message>
        <source>Copy the error details to the clipboard</source>
        <translation>将错误详情复制到剪贴板</translation>
    </message>
    <message>
        <source>Copy details</source>
        <translation>复制详情</translation>
    </message>
    <message>
        <source>Open &amp;log folder</source>
        <translation>打开日志文件夹(&amp;L)</translation>
    </message>
    <message>
        <source>Open the folder that holds the log files</source>
        <translation>打开存放日志文件的文件夹</translation>
    </message>
    <message>
        <source>Open log folder</source>
        <translation>打开日志文件夹</translation>
    </message>
</context>
<context>
    <name>ImageDocument</name>
    <message>
        <source>Captioning was cancelled. Press F5 to caption again.</source>
        <translation>已取消生成描述。按 F5 重新生成。</translation>
    </message>
    <message>
        <source>like {label}</source>
        <translation>类似 {label}</translation>
    </message>
    <message>
        <source>Cancelled.</source>
        <translation>已取消。</translation>
    </message>
</context>
<context>
    <name>ImageInput</name>
    <message>
        <source>Opened the first of {n} files: one image is shown at a time.</source>
        <translation>已打开 {n} 个文件中的第一个：一次只显示一张图片。</translation>
    </message>
    <message>
        <source>{url} is not a file on this computer. VLM Desktop works offline: save the image first, then open the file.</source>
        <translation>{url} 不是这台电脑上的文件。VLM Desktop 离线工作：请先保存图片，再打开该文件。</translation>
    </message>
</context>
<context>
    <name>ImageView</name>
    <message>
        <source>Image</source>
        <translation>图片</translation>
    </message>
    <message>
        <source>The image. Ctrl+wheel or Ctrl++/Ctrl+- zoom, drag to pan, Ctrl+0 fits it to the window. Drop an image file here to open it.</source>
        <translation>图片。Ctrl+滚轮或 Ctrl++/Ctrl+- 缩放，拖动可平移，Ctrl+0 适应窗口。将图片文件拖放到这里即可打开。</translation>
    </message>
    <message>
        <source>No image yet</source>
        <translation>还没有图片</translation>
    </message>
    <message>
        <source>Drop an image or a video here, paste one with Ctrl+V, or open one with Ctrl+O.

The model writes a caption and answers your questions about it. Click a highlighted word to see its heat map: where the model looked for that word, brightest where it looked most.</source>
        <translation>将图片或视频拖放到这里，按 Ctrl+V 粘贴，或按 Ctrl+O 打开。

模型会为它写一句描述，并回答你对它的提问。点击高亮的词语可查看它的热力图：模型为这个词在图中关注的位置，越亮表示关注越多。</translation>
    </message>
</context>
<context>
    <name>IndexBar</name>
    <message>
        <source>Pause</source>
        <translation>暂停</translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation>取消</translation>
    </message>
    <message>
        <source>Pause or resume indexing</source>
        <translation>暂停或继续建立索引</translation>
    </message>
    <message>
        <source>Pause indexing; press again to resume</source>
        <translation>暂停建立索引；再按一次继续</translation>
    </message>
    <message>
        <source>Cancel indexing</source>
        <translation>取消建立索引</translation>
    </message>
    <message>
        <source>Stop indexing; items indexed so far are kept</source>
        <translation>停止建立索引；已建立索引的商品会保留</translation>
    </message>
    <message>
        <source>Resume</source>
        <translation>继续</translation>
    </message>
    <message>
        <source>Catalog indexed with {name}.</source>
        <translation>商品目录已用 {name} 建立索引。</translation>
    </message>
    <message>
        <source>Catalog indexed.</source>
        <translation>商品目录已建立索引。</translation>
    </message>
    <message>
        <source>Indexing cancelled; items indexed so far are kept.</source>
        <translation>已取消建立索引；已建立索引的商品会保留。</translation>
    </message>
    <message>
        <source>Indexing failed; items indexed so far are kept.</source>
        <translation>建立索引失败；已建立索引的商品会保留。</translation>
    </message>
    <message>
        <source>Indexing paused.</source>
        <translation>已暂停建立索引。</translation>
    </message>
</context>
<context>
    <name>ItemPane</name>
    <message>
        <source>Item picture</source>
        <translation>商品图片</translation>
    </message>
    <message>
        <source>Open</source>
        <translation>打开</translation>
    </message>
    <message>
        <source>Open this item as the current image (Enter)</source>
        <translation>将此商品作为当前图片打开（回车）</translation>
    </message>
    <message>
        <source>More like this</source>
        <translation>更多类似</translation>
    </message>
    <message>
        <source>Search the catalog for items like this</source>
        <translation>在商品目录中搜索与此类似的商品</translation>
    </message>
    <message>
        <source>Bought</source>
        <translation>已购买</translation>
    </message>
    <message>
        <source>Mark as bought: recommendations follow your purchases</source>
        <translation>标记为已购买：推荐会依据您的购买记录</translation>
    </message>
    <message>
        <source>Why similar?</source>
        <translation>为何相似？</translation>
    </message>
    <message>
        <source>Show which regions of this item and of the current image match</source>
        <translation>显示此商品与当前图片中相互匹配的区域</translation>
    </message>
    <message>
        <source>Selected item</source>
        <translation>所选商品</translation>
    </message>
</context>
<context>
    <name>MainWindow</name>
    <message>
        <source>Open an image first</source>
        <translation>请先打开一张图片</translation>
    </message>
    <message>
        <source>Catalog</source>
        <translation>商品目录</translation>
    </message>
    <message>
        <source>Similar items from your catalog</source>
        <translation>您的商品目录中的相似商品</translation>
    </message>
    <message>
        <source>&amp;Catalog</source>
        <translation>商品目录(&amp;C)</translation>
    </message>
    <message>
        <source>Show or hide the catalog panel (Ctrl+K)</source>
        <translation>显示或隐藏商品目录面板（Ctrl+K）</translation>
    </message>
    <message>
        <source>Loading model…</source>
        <translation>正在加载模型…</translation>
    </message>
    <message>
        <source>Captioning…</source>
        <translation>正在生成描述…</translation>
    </message>
    <message>
        <source>{gone} was removed; switching to {model}.</source>
        <translation>{gone} 已被删除；正在切换到 {model}。</translation>
    </message>
    <message>
        <source>The language changes when VLM Desktop is restarted.</source>
        <translation>重新启动 VLM Desktop 后界面语言才会更改。</translation>
    </message>
    <message>
        <source>The GPU ran out of memory.</source>
        <translation>GPU 显存不足。</translation>
    </message>
    <message>
        <source>Use the CPU</source>
        <translation>改用 CPU</translation>
    </message>
    <message>
        <source>No model is installed: {reason}</source>
        <translation>没有安装模型：{reason}</translation>
    </message>
    <message>
        <source>No model is installed</source>
        <translation>没有安装模型</translation>
    </message>
    <message>
        <source>Open an image to see its caption. Its highlighted words can be clicked: each shows where the model looked for it.</source>
        <translation>打开一张图片即可看到它的描述。描述中高亮的词语可以点击：每个词都会显示模型为它关注的位置。</translation>
    </message>
    <message>
        <source>The catalog search model could not be loaded: {message}</source>
        <translation>无法加载商品目录搜索模型：{message}</translation>
    </message>
    <message>
        <source>No model could be loaded: {message}</source>
        <translation>无法加载任何模型：{message}</translation>
    </message>
    <message>
        <source>The model could not be loaded: {message}</source>
        <translation>无法加载模型：{message}</translation>
    </message>
    <message>
        <source>Videos ({0})</source>
        <translation>视频 ({0})</translation>
    </message>
    <message>
        <source>Open Image</source>
        <translation>打开图片</translation>
    </message>
    <message>
        <source>{images};;{videos};;All files (*)</source>
        <translation>{images};;{videos};;所有文件 (*)</translation>
    </message>
    <message>
        <source>The clipboard holds no image and no path of an image file.</source>
        <translation>剪贴板中既没有图片，也没有图片文件的路径。</translation>
    </message>
    <message>
        <source>Pasted image</source>
        <translation>粘贴的图片</translation>
    </message>
    <message>
        <source>{name} — {app}</source>
        <translation>{name} — {app}</translation>
    </message>
    <message>
        <source>Could not open the image: {message}</source>
        <translation>无法打开图片：{message}</translation>
    </message>
    <message>
        <source>The caption failed: {message}</source>
        <translation>生成描述失败：{message}</translation>
    </message>
    <message>
        <source>{model} cannot answer this. Ask about the catalog (price, category, other colours) or choose another model in Model ▸</source>
        <translation>{model} 无法回答这个问题。可以询问商品目录相关的问题（价格、类别、其他颜色），或在“模型 ▸”中选择其他模型</translation>
    </message>
    <message>
        <source>Click a highlighted word first: the export shows its heat map.</source>
        <translation>请先点击一个高亮的词语：导出的图片会显示它的热力图。</translation>
    </message>
    <message>
        <source>Export Image with Overlay</source>
        <translation>导出带热力图的图片</translation>
    </message>
    <message>
        <source>PNG image (*.png)</source>
        <translation>PNG 图片 (*.png)</translation>
    </message>
    <message>
        <source>Saved {path}</source>
        <translation>已保存 {path}</translation>
    </message>
    <message>
        <source>Could not export the image: {message}</source>
        <translation>无法导出图片：{message}</translation>
    </message>
    <message>
        <source>Caption the current image again (F5)</source>
        <translation>重新描述当前图片（F5）</translation>
    </message>
</context>
<context>
    <name>MessageBar</name>
    <message>
        <source>Message bar</source>
        <translation>消息栏</translation>
    </message>
    <message>
        <source>Message</source>
        <translation>消息</translation>
    </message>
    <message>
        <source>Dismiss this message (Esc)</source>
        <translation>关闭此消息（Esc）</translation>
    </message>
    <message>
        <source>Dismiss message</source>
        <translation>关闭消息</translation>
    </message>
    <message>
        <source>Message action</source>
        <translation>消息操作</translation>
    </message>
    <message>
        <source>Do what the message suggests</source>
        <translation>执行消息建议的操作</translation>
    </message>
</context>
<context>
    <name>ModelManagerDialog</name>
    <message>
        <source>Name</source>
        <translation>名称</translation>
    </message>
    <message>
        <source>Family</source>
        <translation>系列</translation>
    </message>
    <message>
        <source>Can do</source>
        <translation>功能</translation>
    </message>
    <message>
        <source>Size</source>
        <translation>大小</translation>
    </message>
    <message>
        <source>Parameters</source>
        <translation>参数量</translation>
    </message>
    <message>
        <source>Est. memory (CPU / GPU)</source>
        <translation>估计内存（CPU / GPU）</translation>
    </message>
    <message>
        <source>Default for</source>
        <translation>默认用于</translation>
    </message>
    <message>
        <source>Number format</source>
        <translation>数值格式</translation>
    </message>
    <message>
        <source>Source</source>
        <translation>来源</translation>
    </message>
    <message>
        <source>Models</source>
        <translation>模型</translation>
    </message>
    <message>
        <source>Installed models</source>
        <translation>已安装的模型</translation>
    </message>
    <message>
        <source>Import folder…</source>
        <translation>导入文件夹…</translation>
    </message>
    <message>
        <source>Import .zip…</source>
        <translation>导入 .zip…</translation>
    </message>
    <message>
        <source>Remove</source>
        <translation>删除</translation>
    </message>
    <message>
        <source>Default for {job}</source>
        <translation>默认用于 {job}</translation>
    </message>
    <message>
        <source>The built-in model is always available. Import a model folder (e.g. one saved with huggingface-cli download … --local-dir) to use it offline; choose the active model in the Model menu.</source>
        <translation>内置模型始终可用。导入模型文件夹（例如用 huggingface-cli download … --local-dir 保存的文件夹）即可离线使用；在“模型”菜单中选择当前使用的模型。</translation>
    </message>
    <message>
        <source>The built-in model cannot be removed.</source>
        <translation>内置模型不能删除。</translation>
    </message>
    <message>
        <source>{name} cannot do {job}.</source>
        <translation>{name} 无法执行 {job}。</translation>
    </message>
    <message>
        <source>Import a model folder</source>
        <translation>导入模型文件夹</translation>
    </message>
    <message>
        <source>Import a model archive</source>
        <translation>导入模型压缩包</translation>
    </message>
    <message>
        <source>Zip archives (*.zip)</source>
        <translation>Zip 压缩包 (*.zip)</translation>
    </message>
    <message>
        <source>Checking {path}…</source>
        <translation>正在检查 {path}…</translation>
    </message>
    <message>
        <source>Imported {name} ({kind}, {n} M parameters).</source>
        <translation>已导入 {name}（{kind}，{n} M 参数）。</translation>
    </message>
    <message>
        <source>Removed {name}.</source>
        <translation>已删除 {name}。</translation>
    </message>
    <message>
        <source>{name} is now used for {job}.</source>
        <translation>现在使用 {name} 执行 {job}。</translation>
    </message>
</context>
<context>
    <name>ModelSession</name>
    <message>
        <source>no installed model makes image vectors; import one in Model ▸ Manage Models…</source>
        <translation>没有已安装的模型能生成图片向量；请在“模型 ▸ 管理模型…”中导入一个</translation>
    </message>
</context>
<context>
    <name>Models</name>
    <message>
        <source>VLM Lite (built-in)</source>
        <translation>VLM Lite（内置）</translation>
    </message>
</context>
<context>
    <name>OverlayControls</name>
    <message>
        <source>Click a word</source>
        <translation>点击词语</translation>
    </message>
    <message>
        <source>Click a highlighted word of the caption or of an answer to see its heat map: where the model looked for it (bright = most)</source>
        <translation>点击描述或回答中高亮的词语，查看它的热力图：模型为它关注的位置（越亮越多）</translation>
    </message>
    <message>
        <source>Heat map controls</source>
        <translation>热力图控制</translation>
    </message>
    <message>
        <source>Heat map</source>
        <translation>热力图</translation>
    </message>
    <message>
        <source>Show heat map</source>
        <translation>显示热力图</translation>
    </message>
    <message>
        <source>Heat map word</source>
        <translation>热力图对应的词语</translation>
    </message>
    <message>
        <source>Heat map opacity</source>
        <translation>热力图不透明度</translation>
    </message>
    <message>
        <source>How strongly the heat map covers the image</source>
        <translation>热力图覆盖图片的浓淡程度</translation>
    </message>
    <message>
        <source>&amp;Opacity</source>
        <translation>不透明度(&amp;O)</translation>
    </message>
    <message>
        <source>Colour legend</source>
        <translation>颜色图例</translation>
    </message>
    <message>
        <source>Colour legend: dark = the model paid little attention, bright = where it looked most</source>
        <translation>颜色图例：暗 = 模型很少关注，亮 = 模型最关注的位置</translation>
    </message>
    <message>
        <source>low</source>
        <translation>低</translation>
    </message>
    <message>
        <source>high</source>
        <translation>高</translation>
    </message>
    <message>
        <source>Legend {end}</source>
        <translation>图例 {end}</translation>
    </message>
    <message>
        <source>“{word}”</source>
        <translation>“{word}”</translation>
    </message>
    <message>
        <source>The heat map over the image is for “{word}”; click the word again to hide it</source>
        <translation>图片上的热力图对应“{word}”；再次点击该词语即可隐藏</translation>
    </message>
</context>
<context>
    <name>RecommendationsView</name>
    <message>
        <source>Recommendations</source>
        <translation>推荐</translation>
    </message>
    <message>
        <source>Recommended for you</source>
        <translation>为您推荐</translation>
    </message>
    <message>
        <source>Purchase history</source>
        <translation>购买记录</translation>
    </message>
    <message>
        <source>Clear history…</source>
        <translation>清除记录…</translation>
    </message>
    <message>
        <source>Clear purchase history</source>
        <translation>清除购买记录</translation>
    </message>
    <message>
        <source>Forget this catalog&apos;s purchase history (asks first)</source>
        <translation>删除此商品目录的购买记录（会先确认）</translation>
    </message>
    <message>
        <source>Recommendations note</source>
        <translation>推荐说明</translation>
    </message>
    <message>
        <source>Because you bought {titles}</source>
        <translation>因为您购买了 {titles}</translation>
    </message>
    <message>
        <source>, </source>
        <translation>、</translation>
    </message>
    <message>
        <source>Forget all {n} purchases of this catalog? Recommendations then follow only what you mark as bought from now on. This cannot be undone.</source>
        <translation>要删除此商品目录的全部 {n} 条购买记录吗？此后推荐只依据您新标记为已购买的商品。此操作无法撤销。</translation>
    </message>
</context>
<context>
    <name>StatusBar</name>
    <message>
        <source>encode</source>
        <translation>编码</translation>
    </message>
    <message>
        <source>caption</source>
        <translation>描述</translation>
    </message>
    <message>
        <source>answer</source>
        <translation>回答</translation>
    </message>
    <message>
        <source>{step} cached</source>
        <translation>{step} 已缓存</translation>
    </message>
    <message>
        <source>{step} {time}</source>
        <translation>{step} {time}</translation>
    </message>
    <message>
        <source>{time} queued</source>
        <translation>排队 {time}</translation>
    </message>
    <message>
        <source>{time} from your request to the result, waiting for the model included</source>
        <translation>从提出请求到得到结果共 {time}，包括等待模型的时间</translation>
    </message>
    <message>
        <source>Steps reported by the model: {steps}</source>
        <translation>模型报告的各步骤：{steps}</translation>
    </message>
    <message>
        <source>Queued: the model was finishing other work (such as indexing the catalog) before it started this</source>
        <translation>排队：模型先要完成其他工作（例如为商品目录建立索引），然后才开始这项请求</translation>
    </message>
    <message>
        <source>Encode cached: the image was already encoded for an earlier request, so that work was not repeated</source>
        <translation>编码已缓存：这张图片在之前的请求中已编码过，因此没有重复这项工作</translation>
    </message>
    <message>
        <source>{n} s</source>
        <translation>{n} 秒</translation>
    </message>
    <message>
        <source>{n} ms</source>
        <translation>{n} 毫秒</translation>
    </message>
    <message>
        <source>GPU {device} · {dtype}</source>
        <translation>GPU {device} · {dtype}</translation>
    </message>
    <message>
        <source>Apple GPU</source>
        <translation>Apple GPU</translation>
    </message>
    <message>
        <source>CPU · {n} threads</source>
        <translation>CPU · {n} 个线程</translation>
    </message>
    <message>
        <source>Status bar</source>
        <translation>状态栏</translation>
    </message>
    <message>
        <source>Timings</source>
        <translation>耗时</translation>
    </message>
    <message>
        <source>How long the last request took</source>
        <translation>上一次请求的耗时</translation>
    </message>
    <message>
        <source>No model</source>
        <translation>无模型</translation>
    </message>
    <message>
        <source>Model</source>
        <translation>模型</translation>
    </message>
    <message>
        <source>The model in use</source>
        <translation>正在使用的模型</translation>
    </message>
    <message>
        <source>Device: —</source>
        <translation>设备：—</translation>
    </message>
    <message>
        <source>Device</source>
        <translation>设备</translation>
    </message>
    <message>
        <source>The device the model runs on</source>
        <translation>模型运行所在的设备</translation>
    </message>
    <message>
        <source>Loading model…</source>
        <translation>正在加载模型…</translation>
    </message>
    <message>
        <source>No model installed</source>
        <translation>未安装模型</translation>
    </message>
    <message>
        <source>{name} {version} · {dtype}</source>
        <translation>{name} {version} · {dtype}</translation>
    </message>
    <message>
        <source>Catalog search uses {name}</source>
        <translation>商品目录搜索使用 {name}</translation>
    </message>
    <message>
        <source>Choose another in the Model menu</source>
        <translation>可在“模型”菜单中选择其他模型</translation>
    </message>
</context>
<context>
    <name>TrainingPlot</name>
    <message>
        <source>Training progress plot</source>
        <translation>训练进度图</translation>
    </message>
    <message>
        <source>epoch</source>
        <translation>轮次</translation>
    </message>
    <message>
        <source>training loss</source>
        <translation>训练损失</translation>
    </message>
    <message>
        <source>held-out recall@10</source>
        <translation>留出集 recall@10</translation>
    </message>
</context>
<context>
    <name>VideoController</name>
    <message>
        <source>Export &amp;Subtitles…</source>
        <translation>导出字幕(&amp;S)…</translation>
    </message>
    <message>
        <source>Save the video&apos;s scene captions as SRT or WebVTT subtitles, with a JSON of timestamps</source>
        <translation>将视频各场景的描述保存为 SRT 或 WebVTT 字幕，并附带含时间戳的 JSON</translation>
    </message>
    <message>
        <source>Scene {0}: captioning…</source>
        <translation>场景 {0}：正在生成描述…</translation>
    </message>
    <message>
        <source>Reading the video…</source>
        <translation>正在读取视频…</translation>
    </message>
    <message>
        <source>{name} is damaged after {time} ({reason}); the {count} scenes before it are shown.</source>
        <translation>{name} 在 {time} 之后已损坏（{reason}）；显示其之前的 {count} 个场景。</translation>
    </message>
    <message>
        <source>Could not caption the video {0}: {1}</source>
        <translation>无法为视频 {0} 生成描述：{1}</translation>
    </message>
    <message>
        <source>Stopped reading {0}.</source>
        <translation>已停止读取 {0}。</translation>
    </message>
    <message>
        <source>Stopped: {0} scenes of {1} were captioned.</source>
        <translation>已停止：{1} 中的 {0} 个场景已生成描述。</translation>
    </message>
    <message>
        <source>SubRip subtitles (*.srt)</source>
        <translation>SubRip 字幕 (*.srt)</translation>
    </message>
    <message>
        <source>WebVTT subtitles (*.vtt)</source>
        <translation>WebVTT 字幕 (*.vtt)</translation>
    </message>
    <message>
        <source>Export Subtitles</source>
        <translation>导出字幕</translation>
    </message>
    <message>
        <source>Could not save the subtitles: {0}</source>
        <translation>无法保存字幕：{0}</translation>
    </message>
    <message>
        <source>Saved {0} and {1}</source>
        <translation>已保存 {0} 和 {1}</translation>
    </message>
</context>
<context>
    <name>VideoTimeline</name>
    <message>
        <source>Video scenes</source>
        <translation>视频场景</translation>
    </message>
    <message>
        <source>The video&apos;s scenes: click one, or use Left and Right, to show its frame and ask about it</source>
        <translation>视频的场景：点击某个场景，或用左右方向键，显示该画面并就其提问</translation>
    </message>
    <message>
        <source>{start}–{end}: {caption}</source>
        <translation>{start}–{end}：{caption}</translation>
    </message>
    <message>
        <source>Scene at {start}: {caption}</source>
        <translation>{start} 处的场景：{caption}</translation>
    </message>
</context>
<context>
    <name>WindowActions</name>
    <message>
        <source>{tip} ({keys})</source>
        <translation>{tip}（{keys}）</translation>
    </message>
    <message>
        <source>&amp;Open…</source>
        <translation>打开(&amp;O)…</translation>
    </message>
    <message>
        <source>Open an image file</source>
        <translation>打开图片文件</translation>
    </message>
    <message>
        <source>&amp;Paste</source>
        <translation>粘贴(&amp;P)</translation>
    </message>
    <message>
        <source>Open the image or file path on the clipboard</source>
        <translation>打开剪贴板中的图片或文件路径</translation>
    </message>
    <message>
        <source>&amp;Export Image with Overlay…</source>
        <translation>导出带热力图的图片(&amp;E)…</translation>
    </message>
    <message>
        <source>Save the image with the shown heat map as a PNG</source>
        <translation>将图片连同当前显示的热力图保存为 PNG</translation>
    </message>
    <message>
        <source>&amp;Quit</source>
        <translation>退出(&amp;Q)</translation>
    </message>
    <message>
        <source>Quit VLM Desktop</source>
        <translation>退出 VLM Desktop</translation>
    </message>
    <message>
        <source>&amp;Fit to Window</source>
        <translation>适应窗口(&amp;F)</translation>
    </message>
    <message>
        <source>Show the whole image</source>
        <translation>显示整张图片</translation>
    </message>
    <message>
        <source>Zoom &amp;In</source>
        <translation>放大(&amp;I)</translation>
    </message>
    <message>
        <source>Enlarge the image</source>
        <translation>放大图片</translation>
    </message>
    <message>
        <source>Zoom &amp;Out</source>
        <translation>缩小(&amp;O)</translation>
    </message>
    <message>
        <source>Shrink the image</source>
        <translation>缩小图片</translation>
    </message>
    <message>
        <source>Show &amp;Heat Map</source>
        <translation>显示热力图(&amp;H)</translation>
    </message>
    <message>
        <source>Show or hide the heat map over the image</source>
        <translation>显示或隐藏图片上的热力图</translation>
    </message>
    <message>
        <source>F&amp;ull Screen</source>
        <translation>全屏(&amp;U)</translation>
    </message>
    <message>
        <source>Use the whole screen</source>
        <translation>使用整个屏幕</translation>
    </message>
    <message>
        <source>&amp;Caption Again</source>
        <translation>重新描述(&amp;C)</translation>
    </message>
    <message>
        <source>Caption the current image again</source>
        <translation>重新描述当前图片</translation>
    </message>
    <message>
        <source>&amp;Cancel</source>
        <translation>取消(&amp;C)</translation>
    </message>
    <message>
        <source>Stop the current task</source>
        <translation>停止当前任务</translation>
    </message>
    <message>
        <source>&amp;About VLM Desktop</source>
        <translation>关于 VLM Desktop(&amp;A)</translation>
    </message>
    <message>
        <source>Versions and licences</source>
        <translation>版本与许可</translation>
    </message>
    <message>
        <source>Open &amp;Log Folder</source>
        <translation>打开日志文件夹(&amp;L)</translation>
    </message>
    <message>
        <source>Open the folder with the app&apos;s log files</source>
        <translation>打开存放本应用日志文件的文件夹</translation>
    </message>
    <message>
        <source>&amp;Manage Models…</source>
        <translation>管理模型(&amp;M)…</translation>
    </message>
    <message>
        <source>Import, remove and choose default models</source>
        <translation>导入、删除模型并选择默认模型</translation>
    </message>
    <message>
        <source>&amp;File</source>
        <translation>文件(&amp;F)</translation>
    </message>
    <message>
        <source>Open &amp;Recent</source>
        <translation>最近打开(&amp;R)</translation>
    </message>
    <message>
        <source>&amp;View</source>
        <translation>视图(&amp;V)</translation>
    </message>
    <message>
        <source>&amp;Language</source>
        <translation>语言(&amp;L)</translation>
    </message>
    <message>
        <source>&amp;Model</source>
        <translation>模型(&amp;M)</translation>
    </message>
    <message>
        <source>Active Model</source>
        <translation>当前模型</translation>
    </message>
    <message>
        <source>Catalog &amp;Search Model</source>
        <translation>商品目录搜索模型(&amp;S)</translation>
    </message>
    <message>
        <source>The model whose image vectors the catalog searches; it can differ from the model that captions</source>
        <translation>商品目录搜索所用图片向量的来源模型；可以与生成描述的模型不同</translation>
    </message>
    <message>
        <source>&amp;Device</source>
        <translation>设备(&amp;D)</translation>
    </message>
    <message>
        <source>&amp;Help</source>
        <translation>帮助(&amp;H)</translation>
    </message>
    <message>
        <source>&amp;System Language</source>
        <translation>跟随系统(&amp;S)</translation>
    </message>
    <message>
        <source>The window&apos;s language; it changes when VLM Desktop is restarted</source>
        <translation>窗口的语言；重新启动 VLM Desktop 后生效</translation>
    </message>
    <message>
        <source>No models installed</source>
        <translation>未安装模型</translation>
    </message>
    <message>
        <source>No installed model can search a catalog</source>
        <translation>没有已安装的模型能搜索商品目录</translation>
    </message>
    <message>
        <source>&amp;Automatic</source>
        <translation>自动(&amp;A)</translation>
    </message>
    <message>
        <source>Use the GPU when one works, otherwise the CPU</source>
        <translation>有可用的 GPU 时使用 GPU，否则使用 CPU</translation>
    </message>
    <message>
        <source>&amp;CPU</source>
        <translation>&amp;CPU</translation>
    </message>
    <message>
        <source>Always run the model on the CPU</source>
        <translation>始终在 CPU 上运行模型</translation>
    </message>
    <message>
        <source>CUDA &amp;{n}: {name}</source>
        <translation>CUDA &amp;{n}：{name}</translation>
    </message>
    <message>
        <source>Run the model on {name}</source>
        <translation>在 {name} 上运行模型</translation>
    </message>
    <message>
        <source>&amp;Clear Recent Files</source>
        <translation>清除最近文件(&amp;C)</translation>
    </message>
    <message>
        <source>Forget the recently opened files</source>
        <translation>清除最近打开的文件记录</translation>
    </message>
</context>
<context>
    <name>WindowRules</name>
    <message>
        <source>Captioning…</source>
        <translation>正在生成描述…</translation>
    </message>
    <message>
        <source>Answering…</source>
        <translation>正在回答…</translation>
    </message>
    <message>
        <source>Loading model…</source>
        <translation>正在加载模型…</translation>
    </message>
    <message>
        <source>Opening image…</source>
        <translation>正在打开图片…</translation>
    </message>
    <message>
        <source>Exporting…</source>
        <translation>正在导出…</translation>
    </message>
    <message>
        <source>{model} cannot answer questions; questions about the catalog still work: price, category, other colours.</source>
        <translation>{model} 无法回答问题；仍可询问商品目录相关的问题：价格、类别、其他颜色。</translation>
    </message>
    <message>
        <source>Ask about the catalog…</source>
        <translation>询问商品目录…</translation>
    </message>
    <message>
        <source>The model is loading…</source>
        <translation>模型正在加载…</translation>
    </message>
    <message>
        <source>No model is loaded</source>
        <translation>尚未加载模型</translation>
    </message>
    <message>
        <source>Open an image first</source>
        <translation>请先打开一张图片</translation>
    </message>
</context>
<context>
    <name>WordChip</name>
    <message>
        <source>Word {text}</source>
        <translation>词语 {text}</translation>
    </message>
    <message>
        <source>Show where the model looked for “{text}”</source>
        <translation>显示模型寻找“{text}”时关注的位置</translation>
    </message>
</context>
</TS>
